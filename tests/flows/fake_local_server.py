"""Stands for flows.local_server in tests (`python -m tests.flows.fake_local_server PORT PARENT`):
builds Prefect's database when the home has none, notes the start checks it was given and the
paths asked of it, and answers the health check and the API version; with FAKE_SERVER_EXIT set it
stops at once with that exit code."""

from __future__ import annotations

import http.server
import json
import os
import sqlite3
import sys
from pathlib import Path


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        with (Path(os.environ["PREFECT_HOME"]) / "requests.log").open("a") as log:
            log.write(self.path + "\n")
        self.send_response(200 if self.path in ("/api/health", "/api/admin/version") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def main(argv: list[str]) -> None:
    if os.environ.get("FAKE_SERVER_EXIT"):
        sys.exit(int(os.environ["FAKE_SERVER_EXIT"]))
    home = Path(os.environ["PREFECT_HOME"])
    database = home / "prefect.db"
    checks = {name: os.environ.get(name) for name in ("PREFECT_SERVER_DATABASE_MIGRATE_ON_START",
                                                      "PREFECT_SERVER_REGISTER_BLOCKS_ON_START")}
    with (home / "starts.jsonl").open("a") as notes:
        notes.write(json.dumps({"found": database.exists(), "checks": checks, "parent": int(argv[1])}) + "\n")
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS flow (id INTEGER)")
        conn.execute("INSERT INTO flow VALUES (1)")
    http.server.HTTPServer(("127.0.0.1", int(argv[0])), _Health).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
