"""Extract: read CID in key order, a batch of cases at a time, with every child row."""

from migration.extract.batch import LegacyCase, extract_batch
from migration.extract.reference import LegacyReference, read_reference


class Extract:
    """The extract stage: `Extract.reference(conn)` once per run, `Extract.batch(conn, ids)` per batch."""

    reference = staticmethod(read_reference)
    batch = staticmethod(extract_batch)


__all__ = ["Extract", "LegacyCase", "LegacyReference", "extract_batch", "read_reference"]
