"""A process's entry point hides what it has loaded from the collector, and leaves it switched on."""

from __future__ import annotations

import gc
import subprocess
import sys


def test_freezing_the_imports_keeps_the_collector_on_and_hides_what_is_loaded() -> None:
    code = ("import gc; from core.process import freeze_imports; before = gc.get_freeze_count(); "
            "freeze_imports(); print(before, gc.get_freeze_count(), gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out[0] == "0" and int(out[1]) > 1000 and out[2] == "True"
    assert gc.isenabled()
