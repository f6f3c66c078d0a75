"""The one error family the command line turns into a one-line message and exit code 2."""


class CutoverError(Exception):
    """A problem with the input or the environment, safe to print (no personal data)."""


class DatabaseError(CutoverError):
    """A database cannot be reached or used; the message is safe to print (no row values)."""
