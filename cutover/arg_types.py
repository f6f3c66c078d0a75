"""Argument types of the command line: each turns a word into a value or refuses it in one line."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path


def iso_date(text: str) -> dt.date:
    """A date in YYYY-MM-DD form."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def folder(text: str) -> Path:
    """A folder, or a path where none is yet (not a file)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def new_folder(text: str) -> Path:
    """A folder that does not exist yet or is empty."""
    path = folder(text)
    if path.is_dir() and any(path.iterdir()):
        raise argparse.ArgumentTypeError(f"{text} is not empty; give a new folder")
    return path


def file_path(text: str) -> Path:
    """A file, or a path where none is yet (not a folder)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    return path


def existing_folder(text: str) -> Path:
    """A folder that exists."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no folder at {text}")
    return path


def fingerprint(text: str) -> str:
    """A key fingerprint: the 64 hex digits of its SHA-256."""
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise argparse.ArgumentTypeError("is not a key fingerprint (the 64 hex digits of its SHA-256)")
    return text.lower()


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """A whole number between low and high."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high})")
        return value

    return parse


def fraction(text: str) -> float:
    """A fraction in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not a fraction in (0, 1]")
    return value
