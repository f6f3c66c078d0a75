"""RFC 9162 (Certificate Transparency v2) Merkle tree hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

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


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of leaf hashes (split at the largest power of two below n), computed
    bottom-up: pairing left to right and carrying an odd last node up gives the same tree."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
