"""The Ed25519 signing key of the ledger: kept in a file outside the target, never in it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import CutoverError


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at `path`, created (mode 0600) on first use."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise CutoverError(f"the signing key {path} is not a PEM Ed25519 private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CutoverError(f"the signing key {path} is not an Ed25519 key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    """The public key as PEM text."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text."""
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise CutoverError("the public key is not an Ed25519 key")
    return key


def load_any_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file holding it, or holding its private key."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CutoverError(f"no key file at {path}") from exc
    try:
        return load_public_pem(data.decode())
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CutoverError(f"{path} is not a PEM Ed25519 key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise CutoverError(f"{path} is not an Ed25519 key")
    return private.public_key()


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: what an auditor pins with --expect-key."""
    return hashlib.sha256(public_bytes(key)).hexdigest()
