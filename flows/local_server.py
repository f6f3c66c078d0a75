"""Prefect's local server for one run, in a process of its own: `python -m flows.local_server PORT
PARENT_PID`. It serves the app Prefect builds for a temporary server (`create_app(ephemeral=True)`:
no UI, only the services such a server runs) on the loopback, and stops when the run's process
is gone, however that process ended."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

# How often the server looks for the run's process, and how long it then has to stop (seconds).
FOLLOW_SECONDS = 0.5
STOP_SECONDS = 10.0


def main(argv: list[str]) -> None:
    """Serve Prefect's API on 127.0.0.1:PORT for as long as the process PARENT_PID lives."""
    port, parent = int(argv[0]), int(argv[1])
    threading.Thread(target=_follow, args=(parent,), name="follow-run", daemon=True).start()
    import uvicorn
    from prefect.server.api.server import create_app

    uvicorn.run(create_app(ephemeral=True, final=True), host="127.0.0.1", port=port, log_level="error",
                lifespan="on", timeout_graceful_shutdown=5)


def _follow(parent: int) -> None:
    """Stop this server (as a terminal's stop would) once the run's process is gone: a run killed
    outright never stops it itself. A stop that hangs ends the process."""
    while os.getppid() == parent:
        time.sleep(FOLLOW_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_SECONDS)
    os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
