"""What a command shows at the terminal: everything, or errors only (--quiet); and on Ctrl-C one
line saying how to resume, with no library's crash report around it."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType

from core.log import LOGGER_NAME

RESUME = "run the same command again to resume"
_interrupted = False  # set by the first Ctrl-C of the command


@contextlib.contextmanager
def command_console(quiet: bool) -> Iterator[None]:
    """Run a command with its console: under --quiet, standard output, warnings and every log below
    ERROR are dropped (errors still reach standard error); Ctrl-C silences library consoles."""
    previous = signal.getsignal(signal.SIGINT)
    own = previous is signal.default_int_handler and threading.current_thread() is threading.main_thread()
    if own:
        signal.signal(signal.SIGINT, _interrupt)
    try:
        with _interrupt_wins():
            if not quiet:
                yield
                return
            with _quiet():
                yield
    finally:
        if own:
            signal.signal(signal.SIGINT, previous)
        if _interrupted:
            # Ctrl-C's silence outlives --quiet, whose warning filters were put back as it ended:
            # a coroutine that Prefect made and the interrupt left unawaited is reported at exit.
            warnings.simplefilter("ignore")


@contextlib.contextmanager
def _interrupt_wins() -> Iterator[None]:
    """After Ctrl-C, whatever fails while the work unwinds (Prefect reporting the crash to a server
    that is going, say) is the interrupt."""
    global _interrupted
    _interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException:
        if _interrupted:
            raise KeyboardInterrupt from None
        raise
    if _interrupted:  # the interrupt was swallowed on its way out (a failed wave, say)
        raise KeyboardInterrupt


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Standard output, warnings and every log below ERROR dropped."""
    ours = logging.getLogger(LOGGER_NAME)
    level = ours.level
    ours.setLevel(logging.ERROR)
    with _environment(PREFECT_LOGGING_LEVEL="ERROR", DASK_LOGGING__DISTRIBUTED="error"), \
            open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            ours.setLevel(level)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """These variables set for the command (Prefect and Dask read theirs when first imported)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def was_interrupted() -> bool:
    """Whether Ctrl-C was pressed during the command now running (whatever it was turned into on
    its way out)."""
    return _interrupted


def interrupted_line(argv: Sequence[str]) -> str:
    """The one line printed on Ctrl-C: the command to resume with, passwords left out."""
    command = shlex.join(["cutover", *(_without_password(arg) for arg in argv)])
    return f"interrupted: {RESUME}: {command}"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """First Ctrl-C: from now on no log record reaches the console (Prefect reports a run stopped
    under it as a crash, in red; a lasting Prefect server still records the crash), then interrupt
    as Python does. A second Ctrl-C while the batches in flight finish is ignored."""
    global _interrupted
    _interrupted = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    silence = _Silence()
    for logger in _all_loggers():
        for handler in logger.handlers:
            if _is_console(handler):
                handler.addFilter(silence)
    warnings.simplefilter("ignore")
    # Prefect's handler that sends logs to its API writes its own failures to standard error unless
    # logging is told not to report handler errors (the run's local server stops as the run exits).
    logging.raiseExceptions = False
    raise KeyboardInterrupt


class _Silence(logging.Filter):
    """Drops every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _all_loggers() -> list[logging.Logger]:
    named = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    return [logging.getLogger(), *named]


def _is_console(handler: logging.Handler) -> bool:
    """A handler writing to the terminal (Prefect's console handler, Dask's, ours)."""
    return isinstance(handler, logging.StreamHandler) and handler.stream in (
        sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)


def _without_password(arg: str) -> str:
    """An argument with any URL's password left out, `--flag=URL` too: pasted back, the command
    reads the password where it keeps it (PGPASSWORD, ~/.pgpass), as the other hints do."""
    from cutover.hints import without_password

    flag, equals, value = arg.partition("=")
    if arg.startswith("--") and equals:
        return f"{flag}={without_password(value)}"
    return without_password(arg)
