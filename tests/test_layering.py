"""The engine imports no Qt: the CLI and batch scripts run without a display."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cvjd_desktop"


def test_no_pyside_import_outside_ui() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "ui" not in path.relative_to(PACKAGE).parts[:1]
        and "PySide6" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_engine_modules_load_without_qt() -> None:
    code = (
        "import sys, cvjd_desktop.schemas, cvjd_desktop.config, cvjd_desktop.errors, "
        "cvjd_desktop.llm; assert not any(m.startswith('PySide6') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
