"""Cold start (issue 7, item 3): process start to the first painted main window.

Measured from this process: the clock starts before ``Popen`` and stops when the
child's "painted" line arrives (``benchmarks/_startup_probe.py``), so interpreter
start, imports, settings, the ledger and building the window all count. Three kinds
of start, interleaved round by round so the machine's noise hits them alike:

- ``bare``: an empty ``QMainWindow`` of the same size (the baseline);
- the app (``cvjd_desktop.ui.app.main``) with an empty ledger;
- the app with a 1,000,000-row ledger (built like ``bench_ledger``'s).

One unmeasured round first fills the OS file cache and writes the bytecode caches
(to a temp ``PYTHONPYCACHEPREFIX``: an installed app has its ``.pyc`` files, and this
environment may set ``PYTHONDONTWRITEBYTECODE``), so "cold" means a new process,
not a cold disk. Figures are medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._support import ROOT, child_env, row

ROUNDS = 7
BIG_ROWS = 1_000_000


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cvjd-bench-start-") as tmp:
        base = Path(tmp)
        empty_home, big_home = base / "home-empty", base / "home-big"
        empty_home.mkdir()
        big_home.mkdir()
        build_s = _build_ledger(big_home, BIG_ROWS)
        cache = base / "pycache"
        kinds = {
            "bare": ("bare", empty_home),
            "empty": ("app", empty_home),
            "big": ("app", big_home),
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for n in range(ROUNDS + 1):
            for key, (which, home) in kinds.items():
                took = _start_once(which, home, cache)
                if n:  # round 0 warms caches
                    times[key].append(took)
    bare = statistics.median(times["bare"])
    explain = (
        "The bare window only imports QtWidgets. The app also imports pydantic (settings "
        "and results are pydantic models), sets up the Qt enums of ~100 widgets and "
        "builds them, and opens and checks the SQLite ledger; see the notes below."
    )
    return [
        row(
            "cold start: bare PySide6 window (baseline)",
            bare * 1000,
            "ms",
            None,
            None,
            f"median of {ROUNDS}; {_spread(times['bare'])}",
        ),
        row(
            "cold start to first paint, empty ledger",
            statistics.median(times["empty"]) * 1000,
            "ms",
            bare * 1000,
            1.5,
            f"median of {ROUNDS}; {_spread(times['empty'])}",
            target_on_ratio=True,
            explain=explain,
        ),
        row(
            "cold start to first paint, 1M-row ledger",
            statistics.median(times["big"]) * 1000,
            "ms",
            bare * 1000,
            1.5,
            f"median of {ROUNDS}; {_spread(times['big'])}; ledger built in {build_s:.0f} s",
            target_on_ratio=True,
            explain=explain,
        ),
    ]


def _spread(values: list[float]) -> str:
    return f"min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f} ms"


def _build_ledger(home: Path, rows: int) -> float:
    """Fill the ledger ``CVJD_HOME=home`` would open, as bench_ledger does."""
    from benchmarks.bench_ledger import _records
    from cvjd_desktop import config
    from cvjd_desktop.usage import Ledger

    previous = os.environ.get("CVJD_HOME")
    os.environ["CVJD_HOME"] = str(home)
    try:
        path = config.ledger_path()
    finally:
        if previous is None:
            del os.environ["CVJD_HOME"]
        else:
            os.environ["CVJD_HOME"] = previous
    began = time.perf_counter()
    ledger = Ledger(path)
    ledger.record_many(_records(rows))
    ledger.close()
    return time.perf_counter() - began


def _start_once(which: str, home: Path, cache: Path) -> float:
    env = child_env(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._startup_probe", which],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    took = time.perf_counter() - began
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if line.strip() != "painted":
        raise RuntimeError(f"{which} start did not paint (exit {proc.returncode})")
    return took
