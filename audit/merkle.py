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


class Frontier:
    """A Merkle tree grown one leaf at a time, holding one hash per level (its perfect subtrees);
    its root at any size along the way is theirs joined right to left (the same tree as `root`)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (leaves under it, hash), sizes strictly decreasing

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        self.size += 1
        width, value = 1, leaf
        while self._stack and self._stack[-1][0] == width:
            left = self._stack.pop()
            width, value = 2 * width, node_hash(left[1], value)
        self._stack.append((width, value))

    def root(self) -> bytes:
        """The Merkle tree hash of the leaves so far."""
        if not self._stack:
            return EMPTY_ROOT
        value = self._stack[-1][1]
        for _, left_hash in reversed(self._stack[:-1]):
            value = node_hash(left_hash, value)
        return value


def streamed_root(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, Merkle tree hash) of leaf hashes read once."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.add(leaf)
    return frontier.size, frontier.root()


def root(leaves: Iterable[bytes]) -> bytes:
    """The Merkle tree hash of leaf hashes (split at the largest power of two below n)."""
    return streamed_root(leaves)[1]
