"""Extract: read CID in key order, a batch of cases at a time, with every child row."""

from migration.extract.batch import LegacyCase, extract_batch
from migration.extract.reference import LegacyReference, read_reference
from migration.extract.stage import Extract

__all__ = ["Extract", "LegacyCase", "LegacyReference", "extract_batch", "read_reference"]
