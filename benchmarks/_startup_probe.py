"""``python -m benchmarks._startup_probe app|bare``: start, print "painted" at first paint.

``app`` runs the real ``cvjd_desktop.ui.app.main`` (the composition root, as
``cvjd-desktop`` does); ``bare`` shows an empty ``QMainWindow`` of the same size,
the baseline. An application-wide event filter notices the first paint event of
any widget in the main window, lets that paint finish and exits; it costs both
the same few microseconds per event. Nothing heavy is imported before the measured code runs.
"""

from __future__ import annotations

import os
import sys


def _install_probe(app: object) -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                not self.seen
                and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget)
                and isinstance(watched.window(), QMainWindow)
            ):
                self.seen = True
                # Fires once the whole window has been painted and flushed.
                QTimer.singleShot(0, _done)
            return False

    def _done() -> None:
        print("painted", flush=True)
        os._exit(0)  # nothing after the first paint is measured

    assert isinstance(app, QApplication)
    probe = FirstPaint()
    app.installEventFilter(probe)
    app._first_paint_probe = probe  # type: ignore[attr-defined]  # keep it alive


def main(which: str) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    _install_probe(app)
    if which == "bare":
        from PySide6.QtWidgets import QMainWindow

        window = QMainWindow()
        window.setWindowTitle("bare")
        window.resize(1280, 800)
        window.show()
        app.exec()
    else:
        from cvjd_desktop.ui import app as desktop

        desktop.main([])


if __name__ == "__main__":
    main(sys.argv[1])
