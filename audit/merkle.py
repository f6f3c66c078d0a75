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


def subtree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, split at the largest power of two below its length."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(subtree_root(leaves[:k]), subtree_root(leaves[k:]))


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError("leaf index outside the tree")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), subtree_root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), subtree_root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1: the proof that the first `old_size` leaves are a prefix of `leaves`."""
    if not 0 < old_size <= len(leaves):
        raise ValueError("the old size must be between 1 and the new size")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [subtree_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), subtree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), subtree_root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether `proof` shows leaf `index` of a tree of `size` under `root_hash`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: whether `proof` shows the tree of `old_size` is a prefix of the one of `new_size`."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
