"""Composition root of the desktop app: builds the application and the main window.

The only place that decides which settings, ledger and engine the window gets, so
tests build the same window with a temp ``CVJD_HOME`` and fake provider servers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvjd_desktop import config
    from cvjd_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    from cvjd_desktop import config

    parser = argparse.ArgumentParser(
        prog="cvjd-desktop",
        description="Extract CVs and job descriptions into structured data with an LLM.",
    )
    parser.add_argument(
        "--cv",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="queue a CV file or folder at start (repeatable)",
    )
    parser.add_argument(
        "--jd",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="queue a job description file or folder at start (repeatable)",
    )
    parser.add_argument("--provider", choices=config.PROVIDERS, help="provider for this run")
    parser.add_argument("--model", help="model for this run (default: the saved choice)")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse our options; Qt's own (``-style``, ``-platform``...) are left to Qt."""
    args, _qt_args = build_parser().parse_known_args(list(argv))
    return args


def apply_overrides(settings: config.Settings, args: argparse.Namespace) -> config.Settings:
    """``--provider`` / ``--model`` for this run: the window starts with them chosen."""
    if args.provider:
        settings.provider = args.provider
    if args.model:
        if settings.provider == "ollama":
            settings.ollama_model = args.model
        else:
            settings.openai_model = args.model
    return settings


def queue_from_args(window: MainWindow, args: argparse.Namespace) -> None:
    """Queue ``--cv`` / ``--jd`` files; they start once the model list is in."""
    if args.cv:
        window.controller.add_paths(list(args.cv), "cv")
    if args.jd:
        window.controller.add_paths(list(args.jd), "jd")


def build_window(args: argparse.Namespace, *, ledger: Any = None) -> MainWindow:
    """Settings, ledger, engine and window, wired; needs a QApplication."""
    from cvjd_desktop import config
    from cvjd_desktop.ui.main_window import Engine, MainWindow
    from cvjd_desktop.ui.messages import MessageBus
    from cvjd_desktop.usage import Ledger

    settings = apply_overrides(config.load_settings(), args)
    if ledger is None:
        ledger = Ledger()
    return MainWindow(
        settings,
        ledger,
        engine=Engine.real(),
        messages=MessageBus(),
        session_start=datetime.now(UTC),
    )


def _close_on_termination_signals(window: MainWindow) -> None:
    """SIGTERM / SIGINT close the window the normal way: cancel, wait, stop the reader.

    Without this, ``kill`` (a logout, a service manager) ends the process in the middle
    of its work and leaves the reader child and its semaphores behind. Python runs
    signal handlers only between bytecodes, so a timer wakes the interpreter while Qt
    sits in its event loop.
    """
    import signal

    from PySide6.QtCore import QTimer

    def close(_signum: int, _frame: object) -> None:
        window.confirm_quit = lambda _active: True  # nobody is there to answer
        window.close()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, close)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)


def main(argv: Sequence[str] | None = None) -> int:
    # pydantic looks for plugins in every installed package's entry points when it
    # builds its first model: ~5 ms of cold start (benchmarks/bench_startup.py) for
    # plugins this app does not use. Only a default: a user who set the variable
    # (even to "", which enables them all) keeps their choice. It must be set before
    # the first model is built, so this module imports config (pydantic) only below.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    from PySide6.QtWidgets import QApplication, QMessageBox

    from cvjd_desktop import config
    from cvjd_desktop.errors import LedgerError
    from cvjd_desktop.logs import setup_logging
    from cvjd_desktop.ui.crash_dialog import CrashReporter

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    app = QApplication.instance() or QApplication(
        [sys.argv[0] if sys.argv else "cvjd-desktop", *argv]
    )
    app.setApplicationName(config.APP_NAME)
    app.setApplicationDisplayName("CV & JD Extractor")
    # Wayland and most Linux docks match the window to its .desktop file by this name.
    app.setDesktopFileName("cvjd-desktop")
    try:
        log_file: Path | None = setup_logging()
    except OSError:  # a read-only home must not stop the app; it just logs nowhere
        log_file = None
    reporter = CrashReporter(log_file)
    reporter.install()
    try:
        window = build_window(args)
    except LedgerError as exc:
        # Not a corrupt file (that is moved aside): e.g. a ledger from a newer version,
        # or a data folder we may not write. Say so rather than die with a traceback.
        QMessageBox.critical(None, "cvjd-desktop cannot start", exc.message)
        reporter.uninstall()
        return 1
    queue_from_args(window, args)
    window.show()
    _close_on_termination_signals(window)
    try:
        return app.exec()
    finally:
        reporter.uninstall()
        close = getattr(window.ledger, "close", None)
        if close is not None:
            close()
