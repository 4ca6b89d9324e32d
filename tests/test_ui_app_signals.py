"""The real `cvjd-desktop` process, ended by SIGTERM as a logout or `kill` would."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.doc_factory import make_pdf, write_text
from tests.fakes import FakeOllama


def _ledger_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigterm_closes_cleanly_and_keeps_finished_calls(
    fake_ollama: FakeOllama, cvjd_home: Path, tmp_path: Path
) -> None:
    cv = make_pdf(tmp_path / "cv.pdf", ["Ada Lovelace", "Experience", "Analyst"])
    jd = write_text(tmp_path / "jd.txt", "Senior Engineer\nResponsibilities\nApply now")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CVJD_HOME": str(cvjd_home),
        "OLLAMA_HOST": fake_ollama.url,
    }
    exe = Path(sys.executable).with_name("cvjd-desktop")
    proc = subprocess.Popen(
        [str(exe), "--cv", str(cv), "--jd", str(jd)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ledger = cvjd_home / "usage.sqlite3"
    try:
        deadline = time.monotonic() + 60
        while _ledger_rows(ledger) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # another process: nothing to wait on but its ledger
        assert _ledger_rows(ledger) == 2

        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:  # never leave the app running behind a failed test
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "leaked semaphore" not in err
    assert "QThread" not in err
    assert _ledger_rows(ledger) == 2
