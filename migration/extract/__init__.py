"""Extract: read CID in key order, a batch of cases at a time, with every child row."""

from migration.extract.batch import LegacyBatch, extract_batch
from migration.extract.reference import LegacyReference, read_reference
from migration.extract.stage import Extract

__all__ = ["Extract", "LegacyBatch", "LegacyReference", "extract_batch", "read_reference"]
