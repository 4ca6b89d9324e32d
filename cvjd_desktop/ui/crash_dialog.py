"""A last line of defence: an unexpected exception becomes a copyable report.

PySide6 prints exceptions raised in slots and carries on, which leaves the user
with a window in an unknown state and no idea why. The hook logs the traceback
(secrets scrubbed by the log filter), and shows it once in a dialog the user can
copy into a bug report.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox

from cvjd_desktop.logs import SecretScrubber

log = logging.getLogger(__name__)


class CrashReporter:
    """Installs itself as ``sys.excepthook`` while the app runs."""

    def __init__(self, log_file: Path | None) -> None:
        self.log_file = log_file
        self.showing = False
        self._previous = sys.excepthook

    def install(self) -> None:
        sys.excepthook = self.handle

    def uninstall(self) -> None:
        sys.excepthook = self._previous

    def handle(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        text = SecretScrubber().scrub(text)
        log.error("unexpected error\n%s", text)
        if self.showing or QApplication.instance() is None:
            return  # one dialog at a time; the rest are in the log
        self.showing = True
        try:
            box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", "")
            box.setText(
                "Something went wrong inside cvjd-desktop. Your files and the usage "
                "ledger are safe; you can keep working, or restart the app."
            )
            where = f"\n\nThe log is at {self.log_file}." if self.log_file else ""
            box.setInformativeText(f"{exc_type.__name__}: {exc}{where}")
            box.setDetailedText(text)
            box.exec()
        finally:
            self.showing = False
