"""RFC 9162 Merkle tree hashes: the published test vectors, and the recursive definition."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from audit.merkle import EMPTY_ROOT, Frontier, leaf_hash, node_hash, root, streamed_root

# The Certificate Transparency reference inputs and tree heads for sizes 0..8.
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_published_vectors() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    hashes = [leaf_hash(x) for x in LEAVES]
    for size, expected in enumerate(ROOTS):
        assert root(hashes[:size]).hex() == expected, size


def _recursive(hashes: list[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)  # the largest power of two below n
    return node_hash(_recursive(hashes[:k]), _recursive(hashes[k:]))


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_bottom_up_equals_the_rfc_definition(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    assert root(hashes) == _recursive(hashes)


@given(st.lists(st.binary(max_size=8), max_size=300))
def test_the_streamed_root_is_the_same_tree(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    assert streamed_root(iter(hashes)) == (len(hashes), _recursive(hashes))


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_a_frontier_gives_the_root_of_every_prefix_on_the_way(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for n, leaf in enumerate(hashes, start=1):
        frontier.add(leaf)
        assert (frontier.size, frontier.root()) == (n, _recursive(hashes[:n]))


@given(st.integers(min_value=1, max_value=40), st.data())
def test_inclusion_and_consistency_proofs_verify_and_a_changed_one_does_not(n: int, data: st.DataObject) -> None:
    from audit.merkle import consistency_proof, inclusion_proof, verify_consistency, verify_inclusion

    leaves = [leaf_hash(bytes([i])) for i in range(n)]
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    head = root(leaves)
    proof = inclusion_proof(index, leaves)
    assert verify_inclusion(index, n, leaves[index], proof, head)
    assert not verify_inclusion(index, n, leaf_hash(b"other"), proof, head)
    old = data.draw(st.integers(min_value=1, max_value=n))
    consistency = consistency_proof(old, leaves)
    assert verify_consistency(old, n, root(leaves[:old]), head, consistency)
    forked = [*leaves[:old - 1], leaf_hash(b"forked")]
    assert not verify_consistency(old, n, root(forked), head, consistency)
    if consistency:
        bad = [node_hash(consistency[0], consistency[0]), *consistency[1:]]
        assert not verify_consistency(old, n, root(leaves[:old]), head, bad)
