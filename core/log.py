"""Logging for the tool: level from CUTOVER_LOG_LEVEL; messages carry refs, counts and rules only."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "cutover"


def setup_logging(level: str) -> logging.Logger:
    """Configure the cutover logger once, writing to standard error."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A child of the cutover logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
