"""RFC 9162 (Certificate Transparency v2) Merkle tree hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def streamed_root(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, Merkle tree hash) of leaf hashes read once, holding one hash per level: the perfect
    subtrees so far, joined right to left at the end (the same tree as `root`)."""
    stack: list[tuple[int, bytes]] = []  # (leaves under it, hash), sizes strictly decreasing
    size = 0
    for leaf in leaves:
        size += 1
        width, value = 1, leaf
        while stack and stack[-1][0] == width:
            left = stack.pop()
            width, value = 2 * width, node_hash(left[1], value)
        stack.append((width, value))
    if not stack:
        return 0, EMPTY_ROOT
    value = stack[-1][1]
    for _, left_hash in reversed(stack[:-1]):
        value = node_hash(left_hash, value)
    return size, value


def root(leaves: Iterable[bytes]) -> bytes:
    """The Merkle tree hash of leaf hashes (split at the largest power of two below n)."""
    return streamed_root(leaves)[1]
