"""The settings dialog: round-trip, keychain, validation, test connection, prices, clearing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QItemSelectionModel, QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QPushButton

from cvjd_desktop import config
from cvjd_desktop.config import Budget, Settings, load_settings
from cvjd_desktop.ui.settings_dialog import SettingsDialog, check_url
from cvjd_desktop.usage import CallRecord, Ledger, RowFilter
from cvjd_desktop.usage.prices import load_overrides
from tests.provider_calls import unused_port

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
)

KEY = "sk-proj-TESTKEY-abcdefghijklmnop-9Z7q"


@pytest.fixture
def ledger(cvjd_home: Path) -> Iterator[Ledger]:
    led = Ledger(config.ledger_path())
    yield led
    led.close()


def open_dialog(qtbot, ledger: Ledger, settings: Settings | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings or load_settings(), ledger)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.key_state_loaded, timeout=10_000):
        dialog.show()
    return dialog


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_settings_round_trip(qtbot, ledger: Ledger, cvjd_home: Path) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.provider_box.setCurrentIndex(dialog.provider_box.findData("openai"))
    dialog.ollama_host_edit.setText("gpu-box:11500")
    dialog.ollama_model_box.setCurrentText("qwen2.5:7b")
    dialog.base_url_edit.setText("https://llm.example.org/v1/")
    dialog.openai_model_box.setCurrentText("gpt-4.1-mini")
    dialog.concurrency_ollama.setValue(2)
    dialog.concurrency_openai.setValue(7)
    dialog.timeout_edit.setText("45.5")
    dialog.retries_spin.setValue(5)
    dialog.price_updates_check.setChecked(True)
    row = dialog.budgets.add_budget(Budget(period="monthly", usd=20.0, provider="openai"))
    dialog.budgets.set_cell(row, 3, "2,000,000")

    with qtbot.waitSignal(dialog.settings_changed, timeout=5_000) as signal:
        dialog.accept()
    saved = signal.args[0]
    assert isinstance(saved, Settings)
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert (cvjd_home / "settings.json").exists()
    loaded = load_settings()
    assert loaded == saved
    assert loaded.provider == "openai"
    assert loaded.ollama_host == "http://gpu-box:11500"
    assert loaded.ollama_model == "qwen2.5:7b"
    assert loaded.openai_base_url == "https://llm.example.org/v1"
    assert loaded.openai_model == "gpt-4.1-mini"
    assert (loaded.concurrency_ollama, loaded.concurrency_openai) == (2, 7)
    assert loaded.timeout_s == 45.5
    assert loaded.max_retries == 5
    assert loaded.allow_price_updates is True
    assert loaded.budgets == [
        Budget(period="monthly", usd=20.0, tokens=2_000_000, provider="openai")
    ]

    again = open_dialog(qtbot, ledger)
    assert again.ollama_host_edit.text() == "http://gpu-box:11500"
    assert again.timeout_edit.text() == "45.5"
    assert again.openai_model_box.currentText() == "gpt-4.1-mini"
    assert again.budgets.budgets() == (loaded.budgets, None)
    # Saving again unchanged gives the same settings.
    with qtbot.waitSignal(again.settings_changed) as signal:
        again.accept()
    assert signal.args[0] == loaded


def test_cancel_writes_nothing(qtbot, ledger: Ledger, cvjd_home: Path) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.timeout_edit.setText("30")
    dialog.enter_key(KEY)
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.reject()
    assert not (cvjd_home / "settings.json").exists()
    assert keyring.get_password(config.KEYRING_SERVICE, "openai_api_key") is None


def test_key_goes_to_the_keychain_and_no_file(
    qtbot, ledger: Ledger, cvjd_home: Path, memory_keyring
) -> None:
    dialog = open_dialog(qtbot, ledger)
    assert dialog.key_label.text() == "No key stored"
    dialog.enter_key(KEY)
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.accept()
    assert memory_keyring.store == {(config.KEYRING_SERVICE, "openai_api_key"): KEY}
    assert config.get_api_key("openai") == KEY
    assert (cvjd_home / "settings.json").exists()
    assert files_containing(cvjd_home, KEY) == []
    assert files_containing(cvjd_home, KEY[-12:]) == []

    # Shown masked, with only the last four characters.
    again = open_dialog(qtbot, ledger)
    assert again.key_label.text() == "••••••••" + KEY[-4:]
    assert KEY[:-4] not in again.key_label.text()
    assert again.replace_key_button.text() == "Replace…"
    # Replace, then remove.
    again.enter_key("sk-second-key-0000000000WXYZ")
    with qtbot.waitSignal(again.settings_changed):
        again.accept()
    assert config.keychain_get("openai") == "sk-second-key-0000000000WXYZ"
    third = open_dialog(qtbot, ledger)
    assert third.key_label.text().endswith("WXYZ")
    third.remove_key()
    assert "removed" in third.key_label.text()
    with qtbot.waitSignal(third.settings_changed):
        third.accept()
    assert memory_keyring.store == {}
    assert files_containing(cvjd_home, "WXYZ") == []


def test_no_keychain_backend_says_so_and_writes_no_key(
    qtbot, ledger: Ledger, cvjd_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())  # keyring's own "no backend" backend
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    dialog = open_dialog(qtbot, ledger)
    assert dialog.keychain_available is False
    assert dialog.key_label.text() == "No keychain available"
    assert "OPENAI_API_KEY" in dialog.key_note.text()
    assert "it is set now" in dialog.key_note.text()
    assert not dialog.replace_key_button.isEnabled()
    assert dialog.key_note.isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.accept()
    assert files_containing(cvjd_home, KEY) == []
    assert config.get_api_key("openai") == KEY  # the environment fallback


@pytest.mark.parametrize(
    ("host", "timeout", "host_ok", "timeout_ok"),
    [
        ("not a host", "60", False, True),
        ("ftp://files.example.org", "60", False, True),
        ("http://localhost:99999", "60", False, True),
        ("http://", "60", False, True),
        ("localhost:11434", "0", True, False),
        ("localhost:11434", "-5", True, False),
        ("localhost:11434", "soon", True, False),
        ("bad host", "", False, False),
    ],
)
def test_invalid_host_and_timeout_are_refused(
    qtbot, ledger: Ledger, cvjd_home: Path, host, timeout, host_ok, timeout_ok
) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.tabs.setCurrentIndex(3)
    dialog.ollama_host_edit.setText(host)
    dialog.timeout_edit.setText(timeout)
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert dialog.isVisible(), "the dialog stays open"
    assert dialog.tabs.currentIndex() == 0, "the tab with the bad field is shown"
    assert dialog.ollama_host_error.isVisibleTo(dialog) is not host_ok
    assert (dialog.ollama_host_error.text() == "") is host_ok
    assert dialog.timeout_error.isVisibleTo(dialog) is not timeout_ok
    assert (dialog.timeout_error.text() == "") is timeout_ok
    assert not (cvjd_home / "settings.json").exists()

    # Fixing the fields lets OK through.
    dialog.ollama_host_edit.setText("127.0.0.1:11434")
    dialog.timeout_edit.setText("90")
    with qtbot.waitSignal(dialog.settings_changed) as signal:
        dialog.accept()
    assert signal.args[0].ollama_host == "http://127.0.0.1:11434"
    assert signal.args[0].timeout_s == 90
    assert not dialog.ollama_host_error.isVisibleTo(dialog)


def test_check_url() -> None:
    assert check_url("localhost", ollama=True) == ("http://localhost:11434", None)
    assert check_url("https://api.openai.com/v1/") == ("https://api.openai.com/v1", None)
    assert check_url("api.openai.com/v1")[0] is None
    assert check_url("http://host:port")[0] is None


def test_invalid_base_url_and_key_refused(qtbot, ledger: Ledger, memory_keyring) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.base_url_edit.setText("openai.com")
    dialog.enter_key("short")
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert dialog.base_url_error.isVisibleTo(dialog)
    assert dialog.key_error.isVisibleTo(dialog)
    assert memory_keyring.store == {}


def test_invalid_budget_refused(qtbot, ledger: Ledger) -> None:
    dialog = open_dialog(qtbot, ledger)
    row = dialog.budgets.add_budget(Budget(period="daily", usd=1.0))
    dialog.budgets.set_cell(row, 2, "lots")
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert dialog.tabs.currentWidget() is dialog.budgets
    assert "Row 1" in dialog.budgets.error_label.text()
    dialog.budgets.set_cell(row, 2, "")
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert "USD limit, a token limit" in dialog.budgets.error_label.text()
    dialog.budgets.set_cell(row, 3, "50000")
    with qtbot.waitSignal(dialog.settings_changed) as signal:
        dialog.accept()
    assert signal.args[0].budgets == [Budget(period="daily", tokens=50_000)]


def test_test_connection_lists_models(qtbot, ledger: Ledger, fake_ollama) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.ollama_host_edit.setText(fake_ollama.url)
    with qtbot.waitSignal(dialog.connection_tested, timeout=15_000) as signal:
        dialog.test_button.click()
    assert signal.args == [True]
    names = [m.name for m in fake_ollama.models]
    assert dialog.test_result.text().startswith(f"Connected: {len(names)} models")
    items = [dialog.ollama_model_box.itemText(i) for i in range(dialog.ollama_model_box.count())]
    assert items == names
    assert fake_ollama.requests_to("/api/tags")


def test_test_connection_reports_the_error(qtbot, ledger: Ledger) -> None:
    port = unused_port()
    dialog = open_dialog(qtbot, ledger)
    dialog.ollama_host_edit.setText(f"127.0.0.1:{port}")
    with qtbot.waitSignal(dialog.connection_tested, timeout=30_000) as signal:
        dialog.test_button.click()
    assert signal.args == [False]
    text = dialog.test_result.text()
    assert str(port) in text or "Ollama" in text
    assert "Traceback" not in text
    assert dialog.test_button.isEnabled()


def test_test_connection_refuses_a_bad_host_without_calling(qtbot, ledger: Ledger) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.ollama_host_edit.setText("http://bad host")
    with qtbot.waitSignal(dialog.connection_tested) as signal:
        dialog.test_button.click()
    assert signal.args == [False]
    assert dialog.ollama_host_error.isVisibleTo(dialog)


def test_price_overrides_table_writes_the_file(qtbot, ledger: Ledger) -> None:
    dialog = open_dialog(qtbot, ledger)
    editor = dialog.prices
    assert editor.table.rowCount() == 0
    editor.add_row("", "my-model", "0.5", "", "1.5")
    editor.add_row("openai", "gpt-4o-mini", "0.2", "0.05", "0.8")
    editor.add_row("llm.internal:8000", "Llama3", "0", "0", "0")
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.accept()
    path = config.price_overrides_path()
    overrides = load_overrides(path)
    mine = overrides.find("my-model", "ollama", None)
    assert mine is not None and (mine.input, mine.cached_input, mine.output) == (0.5, 0.5, 1.5)
    mini = overrides.find("gpt-4o-mini", "openai", None)
    assert mini is not None and (mini.input, mini.cached_input, mini.output) == (0.2, 0.05, 0.8)
    assert overrides.find("llama3", "openai", "http://llm.internal:8000/v1") is not None

    again = open_dialog(qtbot, ledger)
    rows = [
        [again.prices.table.item(r, c).text() for c in range(5)]
        for r in range(again.prices.table.rowCount())
    ]
    assert ["", "my-model", "0.5", "", "1.5"] in rows
    assert ["openai", "gpt-4o-mini", "0.2", "0.05", "0.8"] in rows


def test_price_overrides_refuse_bad_rows_and_keep_a_broken_file(qtbot, ledger: Ledger) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.prices.add_row("", "x", "cheap", "", "1")
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert "must be a number" in dialog.prices.error_label.text()
    assert not config.price_overrides_path().exists()
    dialog.reject()

    path = config.price_overrides_path()
    path.write_text("{ not json", encoding="utf-8")
    broken = open_dialog(qtbot, ledger)
    assert broken.prices.file_broken
    assert "cannot be read" in broken.prices.error_label.text()
    with qtbot.waitSignal(broken.settings_changed):
        broken.accept()
    assert path.read_text(encoding="utf-8") == "{ not json"


def test_clear_history_asks_and_keeps_a_backup(qtbot, ledger: Ledger, cvjd_home: Path) -> None:
    for i in range(5):
        ledger.record(
            CallRecord(provider="ollama", model="llama3.2:3b", status="ok", total_tokens=i)
        )
    dialog = open_dialog(qtbot, ledger)
    dialog.tabs.setCurrentIndex(3)
    assert dialog.data_dir_edit.text() == str(cvjd_home)
    assert dialog.data_dir_edit.isReadOnly()

    box = dialog.ask_clear_history()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert ledger.count_rows(RowFilter()) == 5

    box = dialog.ask_clear_history()
    clear = next(b for b in box.buttons() if b.text() == "Clear history")
    with qtbot.waitSignal(dialog.history_cleared, timeout=10_000) as signal:
        clear.click()
    backup = Path(signal.args[0])
    assert ledger.count_rows(RowFilter()) == 0
    assert backup.exists() and backup.parent == cvjd_home
    with Ledger(backup) as old:
        assert old.count_rows(RowFilter()) == 5
    assert str(backup) in dialog.clear_result.text()


def test_settings_file_is_plain_settings_json(qtbot, ledger: Ledger, cvjd_home: Path) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.enter_key(KEY)
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.accept()
    data = json.loads((cvjd_home / "settings.json").read_text(encoding="utf-8"))
    assert set(data) == set(Settings.model_fields)
    assert not any("key" in name for name in data)


def test_a_reshown_dialog_forgets_cancelled_edits(qtbot, ledger: Ledger, memory_keyring) -> None:
    dialog = open_dialog(qtbot, ledger)
    dialog.timeout_edit.setText("0")
    dialog.enter_key(KEY)
    dialog.accept()  # refused: the timeout
    assert dialog.timeout_error.isVisibleTo(dialog)
    dialog.reject()
    with qtbot.waitSignal(dialog.key_state_loaded):
        dialog.show()
    assert dialog.timeout_edit.text() == f"{Settings().timeout_s:g}"
    assert not dialog.timeout_error.isVisibleTo(dialog)
    assert not dialog.key_edit.isVisibleTo(dialog)
    assert memory_keyring.store == {}

    dialog.timeout_edit.setText("33")
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.accept()
    with qtbot.waitSignal(dialog.key_state_loaded):
        dialog.show()
    assert dialog.timeout_edit.text() == "33"


def test_a_key_entered_here_is_used_for_openai_and_sent_nowhere_else(
    qtbot, ledger: Ledger, cvjd_home: Path, fake_openai, fake_ollama
) -> None:
    from cvjd_desktop.llm.factory import make_provider
    from tests.fakes import FAKE_OPENAI_KEY

    dialog = open_dialog(qtbot, ledger)
    dialog.base_url_edit.setText(fake_openai.base_url)
    dialog.ollama_host_edit.setText(fake_ollama.url)
    dialog.enter_key(FAKE_OPENAI_KEY)
    with qtbot.waitSignal(dialog.settings_changed) as signal:
        dialog.accept()
    saved = signal.args[0]

    # The OpenAI provider built from the saved settings authenticates with it ...
    provider = make_provider("openai", settings=saved)
    try:
        assert [m.name for m in provider.list_models()]
    finally:
        close = getattr(provider, "close", None)
        if close is not None:
            close()
    assert all(FAKE_OPENAI_KEY in r.text() for r in fake_openai.requests)

    # ... while testing the Ollama connection sends it nowhere.
    again = open_dialog(qtbot, ledger)
    with qtbot.waitSignal(again.connection_tested, timeout=15_000) as tested:
        again.test_button.click()
    assert tested.args == [True]
    assert fake_ollama.requests
    assert not any(FAKE_OPENAI_KEY in r.text() for r in fake_ollama.requests)
    assert files_containing(cvjd_home, FAKE_OPENAI_KEY) == []


class _UrlRecorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toLocalFile())


def test_open_the_overrides_file_and_the_data_folder(qtbot, ledger: Ledger, cvjd_home) -> None:
    recorder = _UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    try:
        dialog = open_dialog(qtbot, ledger)
        dialog.prices.open_button.click()
        path = config.price_overrides_path()
        assert recorder.urls == [str(path)]
        assert load_overrides(path).models == {}, "an empty, valid file to start from"
        dialog.tabs.setCurrentIndex(3)
        buttons = [b for b in dialog.findChildren(QPushButton) if b.text() == "Open folder"]
        buttons[0].click()
        assert recorder.urls[-1] == str(config.data_dir())
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_remove_takes_the_selected_rows_or_else_the_current_one(qtbot, ledger: Ledger) -> None:
    dialog = open_dialog(qtbot, ledger)
    budgets = dialog.budgets
    budgets.set_budgets(
        [
            Budget(period="daily", usd=1.0),
            Budget(period="monthly", usd=2.0),
            Budget(period="daily", tokens=3),
        ]
    )
    budgets.table.selectRow(0)
    budgets.remove_button.click()
    assert [(b.usd, b.tokens) for b in budgets.validate() or []] == [(2.0, None), (None, 3)]
    budgets.table.clearSelection()
    current = budgets.table.model().index(1, 2)
    budgets.table.selectionModel().setCurrentIndex(
        current, QItemSelectionModel.SelectionFlag.NoUpdate
    )
    budgets.remove_button.click()
    assert [(b.usd, b.tokens) for b in budgets.validate() or []] == [(2.0, None)]

    prices = dialog.prices
    prices.add_row("", "kept", "1", "", "2")
    prices.add_row("", "gone", "1", "", "2")
    assert prices.save()
    assert not prices.dirty
    prices.table.selectRow(1)
    prices.remove_button.click()
    assert prices.dirty
    data, error = prices.to_data()
    assert error is None and data is not None
    assert list(data["models"]) == ["kept"]
