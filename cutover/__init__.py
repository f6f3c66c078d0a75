"""cutover: move in-flight cases from a CID-like database to an Atlas-like model, in waves."""

from importlib.metadata import version

__version__ = version("cutover")
