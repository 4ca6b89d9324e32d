"""Preferences: providers, the OpenAI key, limits, prices and the data folder.

Nothing takes effect until OK: then every field is checked (a bad value is refused
with a message beside it and the dialog stays open), the settings are written with
``config.save_settings`` under the config folder, key changes go to the OS keychain,
and ``settings_changed`` carries the new ``Settings``. The API key is never written
to the settings file or any other file: when no keychain backend exists the dialog
says so and points to the ``OPENAI_API_KEY`` variable instead of falling back to
disk. Slow things (the keychain read, "test connection", clearing a big ledger) run
off the GUI thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cvjd_desktop import config
from cvjd_desktop.config import (
    DEFAULT_OLLAMA_HOST,
    KeychainUnavailable,
    Settings,
    keychain_delete,
    keychain_get,
    keychain_set,
)
from cvjd_desktop.ui.background import BackgroundCall
from cvjd_desktop.ui.budgets_editor import BudgetsEditor
from cvjd_desktop.ui.price_overrides_editor import PriceOverridesEditor
from cvjd_desktop.ui.table_editor import ERROR_STYLE

if TYPE_CHECKING:
    from cvjd_desktop.usage import Ledger

OK_STYLE = "color: #1e8449;"


def check_url(text: str, *, ollama: bool = False) -> tuple[str | None, str | None]:
    """``(normalised URL, None)`` or ``(None, message)`` for a host or base URL field.

    The Ollama host accepts what ``OLLAMA_HOST`` accepts (``host``, ``host:port``);
    a base URL must be a full http(s) address.
    """
    text = text.strip()
    if not text:
        return None, "Enter an address, like http://127.0.0.1:11434."
    if any(ch.isspace() for ch in text):
        return None, "An address cannot contain spaces."
    if "://" in text and not text.split("://", 1)[1].split("/", 1)[0]:
        return None, "The address needs a host name, like http://localhost:11434."
    if ollama:
        text = config.normalize_ollama_host(text)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return None, "Use an http:// or https:// address."
    try:
        port = parts.port
    except ValueError:
        return None, "The port must be a number from 1 to 65535."
    if not parts.hostname or port == 0:
        return None, "The address needs a host name, like http://localhost:11434."
    if parts.query or parts.fragment:
        return None, "Leave out ?query and #fragment parts."
    return text.rstrip("/"), None


def mask_key(key: str) -> str:
    """What the dialog shows of a stored key: bullets and its last four characters."""
    return "•" * 8 + key[-4:] if len(key) > 4 else "•" * 8


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def _stacked(*parts: QWidget | QLayout) -> QWidget:
    """A field with its message lines under it; hidden lines take no space."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(3)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    return box


def _narrow(widget: QWidget, width: int = 110) -> QHBoxLayout:
    """A short field (a count, seconds) that does not stretch across the dialog."""
    widget.setMaximumWidth(width)
    row = QHBoxLayout()
    row.addWidget(widget)
    row.addStretch(1)
    return row


def _set_error(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


class SettingsDialog(QDialog):
    """The preferences dialog.

    Signals:
        settings_changed(Settings): OK was pressed and the settings were saved.
        history_cleared(Path): the ledger was emptied; the backup file's path.
        key_state_loaded: the keychain was read (the key line shows its state).
        connection_tested(bool): "test connection" finished, ok or not.
    """

    settings_changed = Signal(object)
    history_cleared = Signal(object)
    key_state_loaded = Signal()
    connection_tested = Signal(bool)

    def __init__(self, settings: Settings, ledger: Ledger, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("SettingsDialog")
        self._settings = settings
        self._ledger = ledger
        self.stored_key: str | None = None
        self.keychain_available = True
        self._remove_key = False
        self._entering_key = False
        self.saved: Settings | None = None

        self._keychain_call = BackgroundCall(self)
        self._keychain_call.succeeded.connect(self._show_key_state)
        self._keychain_call.failed.connect(self._keychain_failed)
        self._test_call = BackgroundCall(self)
        self._test_call.succeeded.connect(self._connection_ok)
        self._test_call.failed.connect(self._connection_failed)
        self._clear_call = BackgroundCall(self)
        self._clear_call.succeeded.connect(self._cleared)
        self._clear_call.failed.connect(self._clear_failed)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._providers_tab(), "Providers")
        self.budgets = BudgetsEditor(settings.budgets)
        self.tabs.addTab(self.budgets, "Budgets")
        self.tabs.addTab(self._prices_tab(), "Prices")
        self.tabs.addTab(self._data_tab(), "Data")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.summary_error = _error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary_error)
        layout.addWidget(self.buttons)
        self.resize(660, 660)

    def showEvent(self, event: QShowEvent) -> None:
        """Every showing starts from the saved settings and the keychain as they are.

        The main window keeps one dialog and shows it again; edits abandoned with
        Cancel must not reappear.
        """
        if not event.spontaneous():
            self.reset(self._settings)
        super().showEvent(event)

    def reset(self, settings: Settings) -> None:
        """Show ``settings`` in every field, drop pending edits and messages."""
        self._settings = settings
        self.provider_box.setCurrentIndex(self.provider_box.findData(settings.provider))
        self.ollama_host_edit.setText(settings.ollama_host)
        self.ollama_model_box.setCurrentText(settings.ollama_model or "")
        self.base_url_edit.setText(settings.openai_base_url)
        self.openai_model_box.setCurrentText(settings.openai_model or "")
        self.concurrency_ollama.setValue(settings.concurrency_ollama)
        self.concurrency_openai.setValue(settings.concurrency_openai)
        self.timeout_edit.setText(f"{settings.timeout_s:g}")
        self.retries_spin.setValue(settings.max_retries)
        self.max_file_spin.setValue(settings.max_file_mb)
        self.price_updates_check.setChecked(settings.allow_price_updates)
        self.budgets.set_budgets(settings.budgets)
        self.prices.reload()
        for label in (
            self.ollama_host_error,
            self.base_url_error,
            self.timeout_error,
            self.key_error,
            self.summary_error,
        ):
            _set_error(label, None)
        self.test_result.clear()
        self.test_result.setVisible(False)
        self.clear_result.clear()
        self._end_key_entry()
        self._load_key_state()

    # --- providers tab --------------------------------------------------------------------

    def _providers_tab(self) -> QWidget:
        s = self._settings
        self.provider_box = QComboBox()
        self.provider_box.addItem("Ollama (local)", "ollama")
        self.provider_box.addItem("OpenAI or compatible", "openai")
        self.provider_box.setCurrentIndex(self.provider_box.findData(s.provider))
        self.provider_box.setAccessibleName("Default provider")

        # Ollama
        self.ollama_host_edit = QLineEdit(s.ollama_host)
        self.ollama_host_edit.setPlaceholderText(DEFAULT_OLLAMA_HOST)
        self.ollama_host_edit.setAccessibleName("Ollama host")
        self.ollama_host_error = _error_label()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.setVisible(False)
        self.ollama_model_box = self._model_box(s.ollama_model, "Ollama model")
        self.ollama_model_box.lineEdit().setPlaceholderText("first installed model")
        self.concurrency_ollama = self._spin(s.concurrency_ollama, 1, 32, "Ollama parallel calls")
        host_row = QHBoxLayout()
        host_row.addWidget(self.ollama_host_edit, 1)
        host_row.addWidget(self.test_button)
        ollama = QGroupBox("Ollama")
        form = QFormLayout(ollama)
        form.addRow("Host:", _stacked(host_row, self.ollama_host_error, self.test_result))
        form.addRow("Default model:", self.ollama_model_box)
        form.addRow("Parallel calls:", _narrow(self.concurrency_ollama))

        # OpenAI
        self.key_label = QLabel("Reading the keychain…")
        self.key_label.setAccessibleName("Stored API key")
        self.replace_key_button = QPushButton("Replace…")
        self.replace_key_button.clicked.connect(self._start_key_entry)
        self.remove_key_button = QPushButton("Remove")
        self.remove_key_button.clicked.connect(self._mark_key_removed)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Paste the new API key")
        self.key_edit.setAccessibleName("New OpenAI API key")
        self.key_edit.setVisible(False)
        self.key_note = QLabel()
        self.key_note.setWordWrap(True)
        self.key_error = _error_label()
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_label, 1)
        key_row.addWidget(self.replace_key_button)
        key_row.addWidget(self.remove_key_button)
        self.base_url_edit = QLineEdit(s.openai_base_url)
        self.base_url_edit.setPlaceholderText(config.DEFAULT_OPENAI_BASE_URL)
        self.base_url_edit.setAccessibleName("OpenAI base URL")
        self.base_url_error = _error_label()
        self.openai_model_box = self._model_box(s.openai_model, "OpenAI model")
        self.openai_model_box.addItems(["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1", "gpt-4o"])
        self.openai_model_box.setCurrentText(s.openai_model or "")
        self.concurrency_openai = self._spin(s.concurrency_openai, 1, 64, "OpenAI parallel calls")
        openai = QGroupBox("OpenAI")
        form = QFormLayout(openai)
        form.addRow("API key:", _stacked(key_row, self.key_edit, self.key_error, self.key_note))
        form.addRow("Base URL:", _stacked(self.base_url_edit, self.base_url_error))
        form.addRow("Default model:", self.openai_model_box)
        form.addRow("Parallel calls:", _narrow(self.concurrency_openai))

        # Requests
        self.timeout_edit = QLineEdit(f"{s.timeout_s:g}")
        self.timeout_edit.setAccessibleName("Request timeout in seconds")
        self.timeout_error = _error_label()
        self.retries_spin = self._spin(s.max_retries, 0, 10, "Retries")
        self.max_file_spin = QDoubleSpinBox()
        self.max_file_spin.setRange(0.1, 4096)
        self.max_file_spin.setDecimals(1)
        self.max_file_spin.setSuffix(" MB")
        self.max_file_spin.setValue(s.max_file_mb)
        self.max_file_spin.setAccessibleName("Largest file")
        requests = QGroupBox("Requests")
        form = QFormLayout(requests)
        form.addRow("Default provider:", self.provider_box)
        self.timeout_edit.setMaximumWidth(110)
        timeout_row = QHBoxLayout()
        timeout_row.addWidget(self.timeout_edit)
        timeout_row.addWidget(QLabel("seconds"))
        timeout_row.addStretch(1)
        form.addRow("Request timeout:", _stacked(timeout_row, self.timeout_error))
        form.addRow("Retries:", _narrow(self.retries_spin))
        form.addRow("Largest file:", _narrow(self.max_file_spin))

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(ollama)
        layout.addWidget(openai)
        layout.addWidget(requests)
        layout.addStretch(1)
        scroll = QScrollArea()  # small screens: scroll rather than squash the fields
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    @staticmethod
    def _model_box(current: str | None, name: str) -> QComboBox:
        box = QComboBox()
        box.setEditable(True)
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        box.setAccessibleName(name)
        box.setCurrentText(current or "")
        return box

    @staticmethod
    def _spin(value: int, low: int, high: int, name: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setAccessibleName(name)
        return spin

    # --- prices and data tabs -----------------------------------------------------------

    def _prices_tab(self) -> QWidget:
        self.prices = PriceOverridesEditor()
        self.price_updates_check = QCheckBox(
            "Download price updates for the built-in price list (contacts the price list's server)"
        )
        self.price_updates_check.setChecked(self._settings.allow_price_updates)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.prices, 1)
        layout.addWidget(self.price_updates_check)
        return page

    def _data_tab(self) -> QWidget:
        data_dir = config.data_dir()
        self.data_dir_edit = QLineEdit(str(data_dir))
        self.data_dir_edit.setReadOnly(True)
        self.data_dir_edit.setAccessibleName("Data folder")
        open_data = QPushButton("Open folder")
        open_data.clicked.connect(lambda: self._open_folder(config.data_dir()))
        self.config_dir_edit = QLineEdit(str(config.config_dir()))
        self.config_dir_edit.setReadOnly(True)
        self.config_dir_edit.setAccessibleName("Settings folder")
        open_config = QPushButton("Open folder")
        open_config.clicked.connect(lambda: self._open_folder(config.config_dir()))
        where = QGroupBox("Where things are kept")
        form = QFormLayout(where)
        row = QHBoxLayout()
        row.addWidget(self.data_dir_edit, 1)
        row.addWidget(open_data)
        form.addRow("Usage history:", row)
        row = QHBoxLayout()
        row.addWidget(self.config_dir_edit, 1)
        row.addWidget(open_config)
        form.addRow("Settings:", row)
        hint = QLabel("Set the CVJD_HOME environment variable to keep everything in one folder.")
        hint.setWordWrap(True)
        form.addRow("", hint)

        self.clear_button = QPushButton("Clear usage history…")
        self.clear_button.clicked.connect(self.ask_clear_history)
        self.clear_result = QLabel()
        self.clear_result.setWordWrap(True)
        self.clear_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        history = QGroupBox("Usage history")
        layout = QVBoxLayout(history)
        text = QLabel(
            "Clearing removes every recorded call from the history, totals and budgets. "
            "A backup copy of the ledger is kept in the data folder."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        row = QHBoxLayout()
        row.addWidget(self.clear_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.clear_result)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(where)
        layout.addWidget(history)
        layout.addStretch(1)
        return page

    def _open_folder(self, folder: Path) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # --- the API key ----------------------------------------------------------------------

    def _load_key_state(self) -> None:
        self.replace_key_button.setEnabled(False)
        self.remove_key_button.setEnabled(False)
        self._keychain_call.submit(lambda: keychain_get("openai"))

    def _show_key_state(self, key: str | None) -> None:
        self.stored_key = key
        self.keychain_available = True
        self._refresh_key_line()
        self.key_state_loaded.emit()

    def _keychain_failed(self, exc: object) -> None:
        # KeychainUnavailable, or a backend failing in its own way: either way the
        # key cannot be kept there, and it must not go anywhere else.
        self.stored_key = None
        self.keychain_available = False
        self._refresh_key_line()
        self.key_state_loaded.emit()

    def _refresh_key_line(self) -> None:
        env = bool(os.environ.get("OPENAI_API_KEY"))
        if not self.keychain_available:
            self.key_label.setText("No keychain available")
            self.replace_key_button.setEnabled(False)
            self.remove_key_button.setEnabled(False)
            self.key_note.setText(
                "This system has no keychain (keyring backend), so the key cannot be "
                "stored here, and it is never written to a file. Set the OPENAI_API_KEY "
                "environment variable before starting the app"
                + (" (it is set now)." if env else ".")
            )
            return
        if self._remove_key:
            shown = "Will be removed when you press OK"
        elif self._typed_key() is not None:
            shown = "New key entered"
        elif self.stored_key:
            shown = mask_key(self.stored_key)
        else:
            shown = "No key stored"
        self.key_label.setText(shown)
        has_key = bool(self.stored_key) and not self._remove_key
        self.replace_key_button.setEnabled(True)
        self.replace_key_button.setText("Replace…" if has_key else "Add…")
        self.remove_key_button.setEnabled(has_key or self._entering_key)
        note = "Kept in the system keychain, never in a file."
        if env:
            note += " The OPENAI_API_KEY environment variable is set and is used instead."
        self.key_note.setText(note)

    def _start_key_entry(self) -> None:
        self._remove_key = False
        self._entering_key = True
        self.key_edit.setVisible(True)
        self.key_edit.setFocus()

    def _mark_key_removed(self) -> None:
        self._end_key_entry(remove=bool(self.stored_key))
        self._refresh_key_line()

    def _end_key_entry(self, *, remove: bool = False) -> None:
        """Hide the key field, dropping what was typed; ``remove``: delete the key on save."""
        self._entering_key = False
        self.key_edit.clear()
        self.key_edit.setVisible(False)
        self._remove_key = remove

    def enter_key(self, key: str) -> None:
        """Type ``key`` as the replacement, as the user would after "Replace…"."""
        self._start_key_entry()
        self.key_edit.setText(key)

    def remove_key(self) -> None:
        self._mark_key_removed()

    # --- test connection ---------------------------------------------------------------

    def test_connection(self) -> None:
        host, error = check_url(self.ollama_host_edit.text(), ollama=True)
        _set_error(self.ollama_host_error, error)
        if host is None:
            self.connection_tested.emit(False)
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText(f"Connecting to {host}…")
        self.test_result.setVisible(True)

        def probe() -> list[str]:
            from cvjd_desktop.llm.factory import make_provider

            provider = make_provider("ollama", ollama_host=host)
            try:
                return [model.name for model in provider.list_models()]
            finally:
                close = getattr(provider, "close", None)  # not in the Provider protocol
                if close is not None:
                    close()

        self._test_call.submit(probe)

    def _connection_ok(self, names: list[str]) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet(OK_STYLE)
        if names:
            shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
            self.test_result.setText(f"Connected: {len(names)} models installed ({shown}).")
        else:
            self.test_result.setText(
                "Connected, but no models are installed. Run “ollama pull llama3.2” first."
            )
        current = self.ollama_model_box.currentText()
        self.ollama_model_box.clear()
        self.ollama_model_box.addItems(names)
        self.ollama_model_box.setCurrentText(current)
        self.connection_tested.emit(True)

    def _connection_failed(self, exc: object) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet(ERROR_STYLE)
        message = getattr(exc, "message", None) or f"Connection failed: {exc}"
        self.test_result.setText(message)
        self.connection_tested.emit(False)

    # --- clear history -------------------------------------------------------------------

    def ask_clear_history(self) -> QMessageBox:
        """Ask first (non-blocking); "Clear" empties the ledger after backing it up."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Clear usage history",
            "Remove every recorded call from the usage history? Totals and budgets "
            "start again from zero. A backup copy of the ledger is kept.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        clear = box.addButton("Clear history", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setObjectName("confirmClearHistory")

        def done() -> None:
            if box.clickedButton() is clear:
                self._clear_history()
            box.deleteLater()

        box.finished.connect(done)
        box.open()
        return box

    def _clear_history(self) -> None:
        self.clear_button.setEnabled(False)
        self.clear_result.setStyleSheet("")
        self.clear_result.setText("Backing up and clearing…")
        self._clear_call.submit(self._ledger.backup_and_clear)

    def _cleared(self, backup: Path) -> None:
        self.clear_button.setEnabled(True)
        self.clear_result.setStyleSheet(OK_STYLE)
        self.clear_result.setText(f"History cleared. Backup: {backup}")
        self.history_cleared.emit(backup)

    def _clear_failed(self, exc: object) -> None:
        self.clear_button.setEnabled(True)
        self.clear_result.setStyleSheet(ERROR_STYLE)
        message = getattr(exc, "message", None) or str(exc)
        self.clear_result.setText(f"The history was not cleared: {message}")

    # --- validation and saving ----------------------------------------------------------

    def _timeout_value(self) -> float | None:
        try:
            value = float(self.timeout_edit.text().strip())
        except ValueError:
            return None
        return value if 0 < value <= 3600 else None

    def collect(self) -> Settings | None:
        """The settings the fields describe, or None after showing what is wrong."""
        errors: dict[QLabel, str | None] = {}
        host, errors[self.ollama_host_error] = check_url(self.ollama_host_edit.text(), ollama=True)
        base_url, errors[self.base_url_error] = check_url(self.base_url_edit.text())
        timeout = self._timeout_value()
        errors[self.timeout_error] = (
            None if timeout is not None else "Enter a number of seconds above 0 (at most 3600)."
        )
        errors[self.key_error] = None
        key = self._typed_key()
        if key is not None and (len(key) < 8 or any(ch.isspace() for ch in key)):
            errors[self.key_error] = (
                "That does not look like an API key (8+ characters, no spaces)."
            )
        for label, message in errors.items():
            _set_error(label, message)
        budgets = self.budgets.validate()
        prices_ok = self.prices.validate()
        bad_tab = None
        if any(errors.values()):
            bad_tab = 0
        elif budgets is None:
            bad_tab = 1
        elif not prices_ok:
            bad_tab = 2
        if bad_tab is not None or host is None or base_url is None or timeout is None:
            self.tabs.setCurrentIndex(bad_tab or 0)
            _set_error(self.summary_error, "Some values need fixing; see the messages above.")
            return None
        values: dict[str, Any] = {
            **self._settings.model_dump(),
            "provider": self.provider_box.currentData(),
            "ollama_host": host,
            "ollama_model": self.ollama_model_box.currentText().strip() or None,
            "openai_base_url": base_url,
            "openai_model": self.openai_model_box.currentText().strip() or None,
            "timeout_s": timeout,
            "concurrency_ollama": self.concurrency_ollama.value(),
            "concurrency_openai": self.concurrency_openai.value(),
            "max_file_mb": self.max_file_spin.value(),
            "max_retries": self.retries_spin.value(),
            "budgets": budgets,
            "allow_price_updates": self.price_updates_check.isChecked(),
        }
        try:
            settings = Settings.model_validate(values)
        except ValidationError as exc:
            _set_error(self.summary_error, f"Invalid settings: {exc.errors()[0]['msg']}")
            return None
        _set_error(self.summary_error, None)
        return settings

    def _typed_key(self) -> str | None:
        """The replacement key typed after "Replace…", if any."""
        text = self.key_edit.text().strip() if self._entering_key else ""
        return text or None

    def _apply_key_change(self) -> bool:
        new_key = self._typed_key()
        try:
            if new_key is not None:
                keychain_set("openai", new_key)
                self.stored_key = new_key
            elif self._remove_key:
                keychain_delete("openai")
                self.stored_key = None
        except KeychainUnavailable as exc:
            self.keychain_available = False
            _set_error(self.key_error, f"The keychain refused the key: {exc}")
            self.tabs.setCurrentIndex(0)
            return False
        self._end_key_entry()
        self._refresh_key_line()
        return True

    def accept(self) -> None:
        settings = self.collect()
        if settings is None:
            return
        if not self._apply_key_change():
            return
        if not self.prices.save():
            self.tabs.setCurrentIndex(2)
            return
        try:
            config.save_settings(settings)
        except OSError as exc:
            _set_error(self.summary_error, f"The settings could not be saved: {exc}")
            return
        self.saved = settings
        self._settings = settings
        self.settings_changed.emit(settings)
        self._shutdown()
        super().accept()

    def reject(self) -> None:
        self._shutdown()
        super().reject()

    def _shutdown(self) -> None:
        for call in (self._keychain_call, self._test_call, self._clear_call):
            call.cancel()
            call.wait()
