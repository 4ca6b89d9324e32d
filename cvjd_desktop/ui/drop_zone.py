"""A labelled area that takes dropped files and folders (and dragged text) of one kind.

The zone only says *what* was dropped; expanding folders and checking extensions
touch the file system, so the controller does that off the GUI thread. Colours come
from the palette (``palette(highlight)`` in the style sheet), so the zone follows
light and dark themes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QStyle, QVBoxLayout, QWidget

_STYLE = """
DropZone {
    border: 2px dashed palette(mid);
    border-radius: 8px;
    background: palette(base);
}
DropZone[hover="true"] {
    border: 2px solid palette(highlight);
    background: palette(alternate-base);
}
"""


class DropZone(QFrame):
    """Accepts drops of files, folders and text for one kind ("cv" or "jd").

    Signals:
        paths_dropped(paths, kind): local paths, as dropped (folders not expanded).
        text_dropped(text, kind): plain text dragged from another program.
        rejected(reason): the drop carried nothing usable; ``reason`` says why.
    """

    paths_dropped = Signal(list, str)
    text_dropped = Signal(str, str)
    rejected = Signal(str)

    def __init__(self, kind: str, title: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName(f"drop_zone_{kind}")
        self.setAcceptDrops(True)
        self.setStyleSheet(_STYLE)
        self.setProperty("hover", False)
        self.setAccessibleName(f"Drop zone: {title}")
        self.setAccessibleDescription(hint)
        self.setToolTip(f"Drop {title.lower()} here: files or whole folders")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(76)

        icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_LargeIconSize)
        pixmap = (
            QStyle.StandardPixmap.SP_FileIcon
            if kind == "cv"
            else QStyle.StandardPixmap.SP_FileDialogContentsView
        )
        icon.setPixmap(
            self.style().standardIcon(pixmap).pixmap(QSize(size, size), self.devicePixelRatioF())
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(f"<b>{title}</b>", self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = QLabel(hint, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)  # the palette's disabled text: a quieter hint, any theme

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        layout.addWidget(icon)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)

    @property
    def hovering(self) -> bool:
        return bool(self.property("hover"))

    def _set_hover(self, on: bool) -> None:
        self.setProperty("hover", on)
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasText():
            event.acceptProposedAction()
            self._set_hover(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_hover(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hover(False)
        mime = event.mimeData()
        if mime.hasUrls():
            urls = mime.urls()
            paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
            event.acceptProposedAction()
            if paths:
                self.paths_dropped.emit(paths, self.kind)
            else:
                shown = ", ".join(url.toString() for url in urls[:2])
                self.rejected.emit(
                    f"Only files and folders on this computer can be dropped, not {shown}"
                )
            return
        if mime.hasText() and mime.text().strip():
            event.acceptProposedAction()
            self.text_dropped.emit(mime.text(), self.kind)
            return
        event.ignore()
        self.rejected.emit("That drop held no files or text")
