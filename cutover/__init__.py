"""cutover: move in-flight cases from a CID-like database to an Atlas-like model, in waves."""

__version__ = "0.1.0"
