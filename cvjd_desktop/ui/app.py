"""Composition root of the desktop app: builds the application and the main window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main(argv: list[str] | None = None) -> int:
    app = QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("cvjd-desktop")
    window = QMainWindow()
    window.setWindowTitle("cvjd-desktop")
    window.setCentralWidget(QLabel("Drop CVs and job descriptions here"))
    window.resize(1280, 800)
    window.show()
    return app.exec()
