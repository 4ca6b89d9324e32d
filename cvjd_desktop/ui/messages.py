"""One path for user-facing status messages.

Widgets never write to the status bar directly: they post here, the message is
logged, and the main window shows it. Tests connect to ``posted`` to assert on
what the user was told, the way qutebrowser's ``message.error`` works.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("cvjd_desktop.ui")

LEVELS = ("info", "warning", "error")


class MessageBus(QObject):
    """Carries short, one-line messages from anywhere in the UI to the status bar.

    Signals:
        posted(level, text): ``level`` is "info", "warning" or "error".
    """

    posted = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []

    def info(self, text: str) -> None:
        self._post("info", text)

    def warning(self, text: str) -> None:
        self._post("warning", text)

    def error(self, text: str) -> None:
        self._post("error", text)

    def _post(self, level: str, text: str) -> None:
        text = " ".join(text.split())
        log.log(
            {"info": logging.INFO, "warning": logging.WARNING}.get(level, logging.ERROR),
            "%s",
            text,
        )
        self.history.append((level, text))
        del self.history[:-200]
        self.posted.emit(level, text)
