"""The record of the cutover: an append-only ledger, RFC 9162 Merkle checkpoints signed with
Ed25519, and an evidence pack (BagIt) that an auditor verifies offline."""
