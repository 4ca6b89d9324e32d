"""The main window: drop zones, the job list, the result view and the usage dock.

The window wires parts together and turns user gestures into controller calls; the
queue logic lives in ``JobController``, the threads in ``workers``. Everything slow
(reading files, listing models, extracting, walking folders) happens off the GUI
thread, so the window keeps repainting while a 300-page PDF is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop import config
from cvjd_desktop.config import PROVIDER_LABELS, Settings
from cvjd_desktop.ui.drop_zone import DropZone
from cvjd_desktop.ui.formatting import format_cost_total, plural
from cvjd_desktop.ui.job_controller import JobController
from cvjd_desktop.ui.job_model import ElideRightDelegate, JobTableModel, KindDelegate
from cvjd_desktop.ui.messages import MessageBus
from cvjd_desktop.ui.model_picker import ModelPicker
from cvjd_desktop.ui.result_view import ResultView
from cvjd_desktop.ui.usage_panel import UsagePanel
from cvjd_desktop.ui.workers import ExtractionRunner

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_MS = 2000
DEFAULT_SIZE = (1280, 800)


@dataclass
class Engine:
    """The engine functions the window calls; ``real()`` is what the app uses.

    One object instead of imports scattered over the UI, so the composition root
    decides what runs and the window module loads without the engine's heavy imports.
    ``supported`` is a function so that asking for the extensions, like every other
    field, can wait until a file is dropped or opened.
    """

    extract: Callable[..., Any]
    make_provider: Callable[..., Any]
    make_budget: Callable[[Any, Settings], Any]
    walk: Callable[[list[Path]], list[Path]]
    supported: Callable[[], Iterable[str]]
    document_from_text: Callable[[str, str], Any]
    guess_kind: Callable[[str], str | None]
    make_reader: Callable[[], Any] | None = None
    """Makes the window's document reader (``read``/``shutdown``); None reads in-thread."""

    @classmethod
    def real(cls) -> Engine:
        """The real engine, imported on first use rather than here.

        ``documents``, ``extraction`` and the provider factory are not needed to paint
        the window; importing them up front cost ~10 ms of cold start
        (benchmarks/bench_startup.py). The first drop imports them in the worker that
        walks it; extraction and model listing run in workers too.
        """

        def extract(*args: Any, **kw: Any) -> Any:
            from cvjd_desktop import extraction

            return extraction.extract(*args, **kw)

        def provider(name: str, settings: Settings, **kw: Any) -> Any:
            from cvjd_desktop.llm.factory import make_provider

            return make_provider(name, settings=settings, **kw)

        def budget(ledger: Any, settings: Settings) -> Any:
            from cvjd_desktop.usage import BudgetGuard

            return BudgetGuard(ledger, settings.budgets)

        def walk(paths: list[Path]) -> list[Path]:
            from cvjd_desktop import documents

            return documents.iter_supported_files(paths)

        def supported() -> Iterable[str]:
            from cvjd_desktop import documents

            return documents.SUPPORTED_EXTENSIONS

        def document_from_text(text: str, name: str) -> Any:
            from cvjd_desktop import documents

            return documents.document_from_text(text, name)

        def guess_kind(text: str) -> str | None:
            from cvjd_desktop import documents

            return documents.guess_kind(text)

        def reader() -> Any:
            # Reads in a child process: see reader_process for why. Its child is
            # started on the first read, so this costs nothing at start-up.
            from cvjd_desktop.ui.reader_process import ProcessReader

            return ProcessReader()

        return cls(
            extract=extract,
            make_provider=provider,
            make_budget=budget,
            walk=walk,
            supported=supported,
            document_from_text=document_from_text,
            guess_kind=guess_kind,
            make_reader=reader,
        )


FIRST_LIST_FALLBACK_MS = 400


def window_state() -> QSettings:
    """Geometry and dock layout, beside settings.json (so CVJD_HOME redirects it)."""
    return QSettings(str(config.config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The app's one main window.

    Attributes:
        confirm_quit: asked with the number of unfinished jobs when the window closes
            with work in flight; returns whether to cancel them and close. Defaults to
            a message box; tests may replace it.
    """

    def __init__(
        self,
        settings: Settings,
        ledger: Any,
        *,
        engine: Engine,
        messages: MessageBus | None = None,
        session_start: datetime | None = None,
        save_settings: Callable[[Settings], None] = config.save_settings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.ledger = ledger
        self.engine = engine
        self.messages = messages or MessageBus(self)
        self.session_start = session_start or datetime.now(UTC)
        self._save_settings = save_settings
        self.confirm_quit: Callable[[int], bool] = self._ask_quit
        self._history: QWidget | None = None
        self._settings_dialog: QWidget | None = None
        self.shutdown_clean: bool | None = None

        self.setWindowTitle("CV & JD Extractor")
        self.setObjectName("main_window")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks)

        self.jobs = JobTableModel(self)
        self.runner = ExtractionRunner(
            settings,
            extract=engine.extract,
            make_provider=engine.make_provider,
            ledger=ledger,
            budget=engine.make_budget(ledger, settings),
            reader=engine.make_reader() if engine.make_reader else None,
            parent=self,
        )
        self.picker = ModelPicker(settings, engine.make_provider, save_settings, self)
        self.controller = JobController(
            self.jobs,
            self.runner,
            self._choice,
            self.messages,
            walk=engine.walk,
            supported=engine.supported,
            document_from_text=engine.document_from_text,
            guess_kind=engine.guess_kind,
            parent=self,
        )

        self._build_actions()
        self._build_central()
        self._build_toolbar()
        self._build_menus()
        self._build_dock()
        self._build_status_bar()
        self._connect()
        self._restore_state()
        self._tell_recoveries()
        self._update_counts()
        # Asking the provider for its models imports its SDK in a worker thread; done
        # before the first paint, that competes for the GIL with building the window
        # and delays it by ~100 ms (benchmarks/bench_startup.py). So it starts on the
        # first paint, or after a short while for a window that is never shown.
        self._picker_started = False
        QTimer.singleShot(FIRST_LIST_FALLBACK_MS, self._start_picker)

    # --- construction -----------------------------------------------------------------

    def _icon(self, pixmap: QStyle.StandardPixmap) -> Any:
        return self.style().standardIcon(pixmap)

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        *,
        shortcut: Any = None,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self._icon(icon))
        action.setToolTip(tip or text.replace("…", ""))
        action.setStatusTip(tip or text.replace("…", ""))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.open_cv_action = self._action(
            "Open &CVs…",
            lambda: self.open_files("cv"),
            shortcut=QKeySequence.StandardKey.Open,
            tip="Choose CV files to extract (Ctrl+O)",
            icon=sp.SP_DialogOpenButton,
        )
        self.open_jd_action = self._action(
            "Open &job descriptions…",
            lambda: self.open_files("jd"),
            shortcut="Ctrl+Shift+O",
            tip="Choose job description files to extract (Ctrl+Shift+O)",
            icon=sp.SP_FileDialogContentsView,
        )
        self.paste_action = self._action(
            "&Paste text",
            lambda: self.paste("auto"),
            shortcut=QKeySequence.StandardKey.Paste,
            tip="Extract copied text; the kind is guessed and can be changed (Ctrl+V)",
            icon=sp.SP_FileIcon,
        )
        self.paste_cv_action = self._action("Paste as C&V", lambda: self.paste("cv"))
        self.paste_jd_action = self._action(
            "Paste as job &description", lambda: self.paste("jd"), shortcut="Ctrl+Shift+V"
        )
        self.cancel_action = self._action(
            "&Cancel selected",
            self.cancel_selected,
            shortcut="Ctrl+.",
            tip="Stop the selected jobs (Ctrl+.)",
            icon=sp.SP_BrowserStop,
        )
        self.cancel_all_action = self._action(
            "Cancel &all",
            self.controller.cancel_all,
            shortcut="Ctrl+Shift+.",
            tip="Empty the queue and stop every running job",
            icon=sp.SP_DialogCancelButton,
        )
        self.retry_action = self._action(
            "&Retry failed",
            self.controller.retry_failed,
            shortcut="Ctrl+R",
            tip="Queue failed, cancelled and refused jobs again (Ctrl+R)",
            icon=sp.SP_BrowserReload,
        )
        self.remove_action = self._action(
            "Re&move",
            self.remove_selected,
            shortcut=QKeySequence.StandardKey.Delete,
            tip="Remove the selected rows (Delete); running ones are cancelled",
            icon=sp.SP_TrashIcon,
        )
        self.clear_action = self._action(
            "Clear &finished",
            self.controller.clear_finished,
            tip="Remove every finished row",
            icon=sp.SP_DialogResetButton,
        )
        self.history_action = self._action(
            "Usage &history…",
            self.show_history,
            shortcut="Ctrl+H",
            tip="Every recorded call, with charts and export (Ctrl+H)",
            icon=sp.SP_FileDialogDetailedView,
        )
        self.preferences_action = self._action(
            "&Preferences…",
            self.show_preferences,
            shortcut=QKeySequence("Ctrl+,"),
            tip="Hosts, API key, concurrency and budgets (Ctrl+,)",
        )
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("&Quit", self.close, shortcut=QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        # Delete must not steal the key from a line edit elsewhere: scope it to the table.
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _build_central(self) -> None:
        self.cv_zone = DropZone("cv", "CVs", "Drop CV files or folders here", self)
        self.jd_zone = DropZone(
            "jd", "Job descriptions", "Drop job descriptions or folders here", self
        )
        zones = QHBoxLayout()
        zones.setSpacing(8)
        zones.addWidget(self.cv_zone)
        zones.addWidget(self.jd_zone)

        self.table = QTableView(self)
        self.table.setModel(self.jobs)
        self.table.setObjectName("job_table")
        self.table.setAccessibleName("Jobs")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setItemDelegateForColumn(JobTableModel.KIND, KindDelegate(self.table))
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.addAction(self.remove_action)
        self.table.installEventFilter(self)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(48)
        mode = QHeaderView.ResizeMode
        for col in (JobTableModel.NAME, JobTableModel.MODEL, JobTableModel.STATUS):
            header.setSectionResizeMode(col, mode.Interactive)
        # Sized once from the widest text they show, not ResizeToContents: that mode
        # re-measures every row (~1,000 Python data() calls) on each dataChanged and
        # stalled the event loop for 100+ ms under load (benchmarks/bench_gui.py).
        metrics, header_metrics = self.table.fontMetrics(), header.fontMetrics()
        for col, widest in (
            (JobTableModel.KIND, "JD"),
            (JobTableModel.TOKENS, "123,456"),
            (JobTableModel.COST, "$0.00 (local)"),
            (JobTableModel.TIME, "9 min 59 s"),
        ):
            header.setSectionResizeMode(col, mode.Interactive)
            label = header_metrics.horizontalAdvance(JobTableModel.HEADERS[col])
            header.resizeSection(col, max(metrics.horizontalAdvance(widest), label) + 24)
        self.table.setItemDelegateForColumn(JobTableModel.STATUS, ElideRightDelegate(self.table))
        self.table.setItemDelegateForColumn(JobTableModel.MODEL, ElideRightDelegate(self.table))
        self.table.viewport().installEventFilter(self)

        self.empty_state = QLabel(self)
        self.empty_state.setObjectName("empty_state")
        self.empty_state.setWordWrap(True)
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_state.setTextFormat(Qt.TextFormat.RichText)
        self.empty_state.setMargin(16)
        self.empty_state.setAccessibleName("Getting started")
        self.empty_state.setFrameShape(QFrame.Shape.StyledPanel)
        self.empty_state.setAutoFillBackground(True)
        self.empty_state.setBackgroundRole(self.table.backgroundRole())
        self.empty_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.list_stack = QStackedWidget(self)
        self.list_stack.addWidget(self.empty_state)
        self.list_stack.addWidget(self.table)

        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Overall progress")
        self.progress.setToolTip("Finished jobs out of all jobs in the list")
        self.progress.setTextVisible(True)

        self.result_view = ResultView(self)
        self.result_view.setAccessibleName("Result")
        self.result_view.setMinimumWidth(260)

        self.banner = QFrame(self)
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setAutoFillBackground(True)
        self.banner.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.banner_text = QLabel(self.banner)
        self.banner_text.setWordWrap(True)
        self.banner_text.setAccessibleName("Notice")
        banner_icon = QLabel(self.banner)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        banner_icon.setPixmap(
            self._icon(QStyle.StandardPixmap.SP_MessageBoxInformation).pixmap(size, size)
        )
        close = QToolButton(self.banner)
        close.setIcon(self._icon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss notice")
        close.clicked.connect(self.banner.hide)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 4, 4, 4)
        banner_layout.addWidget(banner_icon)
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(close)
        self.banner.hide()

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addLayout(zones)
        layout.addWidget(self.list_stack, 1)
        layout.addWidget(self.progress)
        central.setMinimumWidth(360)
        self.setCentralWidget(central)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("main_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for action, label in (
            (self.open_cv_action, "CVs"),
            (self.open_jd_action, "JDs"),
            (self.paste_action, "Paste"),
        ):
            bar.addAction(action)
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                button.setText(label)
        bar.addSeparator()
        bar.addWidget(self.picker)
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.cancel_all_action)
        bar.addAction(self.retry_action)
        bar.addAction(self.clear_action)
        bar.addSeparator()
        bar.addAction(self.history_action)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.open_cv_action, self.open_jd_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = menu.addMenu("&Edit")
        for action in (self.paste_action, self.paste_cv_action, self.paste_jd_action):
            edit.addAction(action)
        edit.addSeparator()
        edit.addAction(self.preferences_action)
        jobs = menu.addMenu("&Jobs")
        for action in (self.cancel_action, self.cancel_all_action, self.retry_action):
            jobs.addAction(action)
        jobs.addSeparator()
        jobs.addAction(self.remove_action)
        jobs.addAction(self.clear_action)
        self.view_menu = menu.addMenu("&View")
        self.view_menu.addAction(self.history_action)

    def _dock(self, title: str, name: str, widget: QWidget, *, closable: bool) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        features = QDockWidget.DockWidgetFeature.DockWidgetMovable
        if closable:
            features |= QDockWidget.DockWidgetFeature.DockWidgetClosable
        dock.setFeatures(features)
        return dock

    def _build_dock(self) -> None:
        """Result and usage stacked on the right: the list keeps the width it needs."""
        self.result_dock = self._dock("Result", "result_dock", self.result_view, closable=False)
        self.usage_panel = _make_usage_panel(self.ledger, self.session_start, self)
        self.usage_dock = self._dock("Usage", "usage_dock", self.usage_panel, closable=True)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.result_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.usage_dock)
        self.splitDockWidget(self.result_dock, self.usage_dock, Qt.Orientation.Vertical)
        toggle = self.usage_dock.toggleViewAction()
        toggle.setText("&Usage panel")
        toggle.setShortcut(QKeySequence("Ctrl+U"))
        toggle.setToolTip("Show or hide the per-model token and cost panel (Ctrl+U)")
        self.view_menu.insertAction(self.history_action, toggle)

    def _default_layout(self) -> None:
        width, height = self.width(), self.height()
        share = 0.4 if width >= 1200 else 0.36
        self.resizeDocks([self.result_dock], [int(width * share)], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.result_dock, self.usage_dock],
            [int(height * 0.64), int(height * 0.36)],
            Qt.Orientation.Vertical,
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shrinking the window takes from the job list first (Qt's rule); past a
        point the docks give way too, so the list keeps its name and status columns."""
        super().resizeEvent(event)
        width = self.width()
        if self.result_dock.isVisible() and self.result_dock.width() > width * 0.45:
            self.resizeDocks([self.result_dock], [int(width * 0.4)], Qt.Orientation.Horizontal)

    def _build_status_bar(self) -> None:
        self.queue_label = QLabel(self)
        self.queue_label.setAccessibleName("Queue")
        self.cost_label = QLabel(self)
        self.cost_label.setAccessibleName("Session cost")
        self.cost_label.setToolTip("What this session's calls cost, from the usage ledger")
        self.statusBar().addPermanentWidget(self.queue_label)
        self.statusBar().addPermanentWidget(self.cost_label)

    def _connect(self) -> None:
        for zone in (self.cv_zone, self.jd_zone):
            zone.paths_dropped.connect(self.controller.add_paths)
            zone.text_dropped.connect(self.controller.add_text)
            zone.rejected.connect(self.messages.warning)
        self.messages.posted.connect(self._show_message)
        self.controller.counts_changed.connect(self._update_counts)
        self.controller.job_finished.connect(self._job_finished)
        self.controller.budget_message.connect(self._budget_message)
        self.jobs.dataChanged.connect(self._row_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.picker.selection_changed.connect(lambda *_: self.controller.pump())
        self.picker.status_changed.connect(self._picker_status)
        self.result_view.copied.connect(self.messages.info)
        self.usage_panel.totals_changed.connect(self._show_session_cost)

    # --- picker -----------------------------------------------------------------------

    def _choice(self) -> tuple[str, str, str | None]:
        provider, model = self.picker.provider(), self.picker.model()
        if self.picker.loading:
            return provider, model, ""
        if model:
            return provider, model, None
        if self.picker.status != "ready":
            return provider, model, self.picker.status_detail.splitlines()[0]
        return provider, model, None

    def _picker_status(self, status: str) -> None:
        self._update_empty_state()
        if status in ("not_running", "key_rejected", "error"):
            self.messages.warning(self.picker.status_detail.splitlines()[0])
        self.controller.pump()

    # --- user actions -----------------------------------------------------------------

    def open_files(self, kind: str) -> None:
        from cvjd_desktop.ui.job_model import KIND_LABELS

        exts = " ".join(f"*{e}" for e in sorted(self.engine.supported()))
        label = "CVs" if kind == "cv" else KIND_LABELS[kind] + "s"
        names, _ = QFileDialog.getOpenFileNames(
            self, f"Open {label}", "", f"Documents ({exts});;All files (*)"
        )
        if names:
            self.controller.add_paths([Path(n) for n in names], kind)

    def paste(self, kind: str) -> None:
        text = QGuiApplication.clipboard().text()
        job = self.controller.add_text(text, kind)
        if job is not None:
            self.messages.info(f"Added {job.name!r} as {_kind_word(job.kind)}")

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [job.id for row in rows if (job := self.jobs.job_at(row)) is not None]

    def cancel_selected(self) -> None:
        if self.controller.cancel(self.selected_ids()) == 0:
            self.messages.info("Nothing selected is queued or running")

    def remove_selected(self) -> None:
        self.controller.remove(self.selected_ids())

    def open_selected(self) -> None:
        """Enter on a row: show its result and move the keyboard into it."""
        self._selection_changed()
        self.result_view.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_history(self) -> None:
        if self._history is None:
            from cvjd_desktop.ui.history_window import HistoryWindow

            self._history = HistoryWindow(self.ledger, self)
        self._history.show()
        self._history.raise_()
        self._history.activateWindow()

    def show_preferences(self) -> None:
        if self._settings_dialog is not None and self._settings_dialog.isVisible():
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        from cvjd_desktop.ui.settings_dialog import SettingsDialog

        if self._settings_dialog is not None:
            self._settings_dialog.deleteLater()  # a fresh one shows the current settings
        dialog = SettingsDialog(self.settings, self.ledger, self)
        dialog.settings_changed.connect(self.apply_settings)
        dialog.history_cleared.connect(self._history_cleared)
        self._settings_dialog = dialog
        dialog.show()

    def _history_cleared(self, backup: Any) -> None:
        self._ledger_changed()
        self.messages.info(f"Usage history cleared; a backup is at {backup}")

    def apply_settings(self, settings: Settings) -> None:
        """New settings from Preferences: pools, budgets and the picker follow them."""
        self.settings = settings
        self.runner.apply_settings(settings, self.engine.make_budget(self.ledger, settings))
        self.picker.apply_settings(settings)
        self.messages.info("Preferences saved")

    # --- reacting ---------------------------------------------------------------------

    def _show_message(self, level: str, text: str) -> None:
        self.statusBar().showMessage(text, 10_000 if level == "info" else 30_000)

    def _budget_message(self, text: str, level: str) -> None:
        self.usage_panel.show_budget_message(text, level)
        self.messages.warning(text)

    def _job_finished(self, job_id: int, result: Any) -> None:
        self._ledger_changed()

    def _ledger_changed(self) -> None:
        """A row was recorded or the history cleared: every view of the ledger re-reads it."""
        self.usage_panel.refresh()
        if self._history is not None and self._history.isVisible():
            self._history.refresh()

    def _show_session_cost(self, known_usd: float | None, unknown_calls: int) -> None:
        self.cost_label.setText(f"Session: {format_cost_total(known_usd, unknown_calls)}")

    def _update_counts(self) -> None:
        counts = self.jobs.counts()
        total = counts["total"]
        finished = counts["done"] + counts["failed"]
        parts = []
        if counts["running"]:
            parts.append(f"{counts['running']} running")
        if counts["queued"]:
            parts.append(f"{counts['queued']} queued")
        if finished:
            parts.append(f"{counts['done']} done")
        if counts["failed"]:
            parts.append(f"{counts['failed']} not done")
        self.queue_label.setText(" · ".join(parts) if parts else "No jobs")
        self.progress.setVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(finished)
        self.progress.setFormat(f"{finished} of {total} finished")
        self.list_stack.setCurrentIndex(1 if total else 0)
        self._fit_columns()
        active = counts["running"] + counts["queued"]
        self.cancel_all_action.setEnabled(active > 0)
        self.retry_action.setEnabled(counts["failed"] > 0)
        self.clear_action.setEnabled(finished > 0)
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        provider = PROVIDER_LABELS.get(self.picker.provider(), self.picker.provider())
        steps = [
            "<p style='font-size:large'><b>Drop CVs and job descriptions above</b></p>",
            "<p>…or open files with <b>Ctrl+O</b>, or paste copied text with <b>Ctrl+V</b>. "
            "Folders work too: every PDF, DOCX and text file inside is queued.</p>",
        ]
        status = self.picker.status
        if self.picker.provider() == "ollama":
            if status == "not_running":
                steps.append(
                    "<p><b>Ollama is not running.</b> Install it from ollama.com, start it with "
                    "<code>ollama serve</code>, pull a model with "
                    "<code>ollama pull llama3.2</code>, then press Refresh in the toolbar.</p>"
                )
            else:
                steps.append(
                    "<p>Files are extracted by a local Ollama model (no cost). "
                    "Start Ollama with <code>ollama serve</code> if it is not running.</p>"
                )
            steps.append(
                "<p>To use OpenAI instead, pick it in the toolbar and add your API key "
                "in <b>Edit › Preferences</b> (Ctrl+,).</p>"
            )
        else:
            if status == "key_rejected":
                steps.append(
                    "<p><b>OpenAI rejected the API key</b> (or none is set). Add it in "
                    "<b>Edit › Preferences</b> (Ctrl+,) or set <code>OPENAI_API_KEY</code>.</p>"
                )
            else:
                steps.append(
                    f"<p>Files are extracted with {provider}; every call's tokens "
                    "and cost appear in the usage panel.</p>"
                )
        self.empty_state.setText("".join(steps))

    def _row_changed(self, top: Any, bottom: Any, roles: Any = ()) -> None:
        current = self.table.selectionModel().currentIndex()
        whole_row = top.column() != bottom.column()
        if whole_row and current.isValid() and top.row() <= current.row() <= bottom.row():
            self._selection_changed()

    def _selection_changed(self, *args: Any) -> None:
        ids = self.selected_ids()
        current = self.table.selectionModel().currentIndex()
        job = self.jobs.job_at(current.row()) if current.isValid() else None
        if job is None and ids:
            job = self.jobs.job(ids[0])
        if job is None:
            self.result_view.show_result(None)
        elif job.result is not None:
            if job.result is not self.result_view.result():
                self.result_view.show_result(job.result, file_name=job.name)
        else:
            self.result_view.show_placeholder(f"{job.name}\n\n{job.status_text()}")

    def _context_menu(self, pos: Any) -> None:
        menu = QMenu(self)
        menu.addAction(self.cancel_action)
        menu.addAction(self.retry_action)
        menu.addAction(self.remove_action)
        ids = self.selected_ids()
        job = self.jobs.job(ids[0]) if len(ids) == 1 else None
        if job is not None and job.path is not None:
            menu.addSeparator()
            path = job.path
            menu.addAction(
                "Open the file", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
            )
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _fit_columns(self) -> None:
        """Share the width between name, model and status; the rest fit their contents.

        A stretching name column alone would squeeze the status to nothing at 900 px
        (or the name, the other way round), so the three are sized together.
        """
        header = self.table.horizontalHeader()
        # In a narrow list the time is the column to give up (it is in the result
        # pane too); the name and the status are what the list is for.
        self.table.setColumnHidden(JobTableModel.TIME, self.table.viewport().width() < 600)
        fixed = sum(
            header.sectionSize(col)
            for col in (
                JobTableModel.KIND,
                JobTableModel.TOKENS,
                JobTableModel.COST,
                JobTableModel.TIME,
            )
            if not header.isSectionHidden(col)
        )
        free = self.table.viewport().width() - fixed
        metrics = self.table.fontMetrics()
        model = min(metrics.horizontalAdvance("ollama/llama3.2:3b") + 12, int(free * 0.25))
        status = min(metrics.horizontalAdvance("Generating · 12,345 tokens") + 36, int(free * 0.4))
        name = max(free - model - status, 80)
        self.table.setColumnWidth(JobTableModel.MODEL, max(model, 60))
        self.table.setColumnWidth(JobTableModel.STATUS, max(status, 90))
        self.table.setColumnWidth(JobTableModel.NAME, name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            editing = self.table.state() == QAbstractItemView.State.EditingState
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not editing:
                self.open_selected()
                return True
        return super().eventFilter(watched, event)

    def _tell_recoveries(self) -> None:
        notes = []
        for aside in config.last_settings_recovery:
            notes.append(
                f"Your settings file could not be read; it was moved to {aside} and "
                "defaults are used."
            )
        config.last_settings_recovery.clear()
        recovered = getattr(self.ledger, "recovered_from", None)
        if recovered:
            notes.append(
                f"The usage ledger was damaged; it was moved to {recovered} and a fresh "
                "one was started."
            )
        if notes:
            self.banner_text.setText(" ".join(notes))
            self.banner.show()
            for note in notes:
                self.messages.warning(note)

    # --- state and shutdown -----------------------------------------------------------

    def _restore_state(self) -> None:
        state = window_state()
        geometry = state.value("geometry")
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            screen = self.screen() or QGuiApplication.primaryScreen()
            room = screen.availableGeometry().size() if screen else None
            width, height = DEFAULT_SIZE
            if room is not None:  # a 1366x768 laptop gets a window that fits
                width, height = min(width, room.width()), min(height, room.height())
            self.resize(width, height)
        layout = state.value("window_state")
        self._needs_default_layout = not (
            isinstance(layout, QByteArray) and self.restoreState(layout)
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._picker_started:
            QTimer.singleShot(0, self._start_picker)

    def _start_picker(self) -> None:
        if not self._picker_started:
            self._picker_started = True
            self.picker.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._needs_default_layout:
            # Dock sizes only stick once the window has its real size.
            self._needs_default_layout = False
            self._default_layout()

    def save_state(self) -> None:
        state = window_state()
        state.setValue("geometry", self.saveGeometry())
        state.setValue("window_state", self.saveState())
        state.sync()

    def _ask_quit(self, active: int) -> bool:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit while extracting?")
        box.setText(f"{plural(active, 'job')} still queued or running.")
        box.setInformativeText(
            "Quitting cancels them. Calls that already finished are kept in the usage history."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel jobs and quit")
        box.button(QMessageBox.StandardButton.No).setText("Keep working")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        self.quit_box = box
        return box.exec() == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        active = self.controller.active()
        if active and not self.confirm_quit(active):
            event.ignore()
            return
        self.controller.cancel_all()
        self.shutdown_clean = self.runner.shutdown(SHUTDOWN_WAIT_MS)
        if not self.shutdown_clean:
            log.warning("some extractions did not stop within %d ms", SHUTDOWN_WAIT_MS)
        self.save_state()
        for child in (self._history, self._settings_dialog):
            if child is not None:
                child.close()
        # The ledger is closed after us: no ledger read may still be running then.
        self.usage_panel.shutdown(1000)
        event.accept()


def _kind_word(kind: str) -> str:
    return {"cv": "a CV", "jd": "a job description"}.get(kind, "a document of guessed kind")


def _make_usage_panel(ledger: Any, session_start: datetime, parent: QWidget) -> UsagePanel:
    return UsagePanel(ledger, session_start, parent)
