"""The main window end to end: real drops, real worker threads, a real ledger, and
servers speaking the Ollama and OpenAI APIs. Nothing here is mocked."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox

from cvjd_desktop import config
from cvjd_desktop.config import Settings
from cvjd_desktop.ui import app as app_module
from cvjd_desktop.ui.drop_zone import DropZone
from cvjd_desktop.ui.job_model import JobTableModel
from cvjd_desktop.ui.main_window import Engine, MainWindow
from cvjd_desktop.usage import Ledger, RowFilter
from tests.fakes import FakeOllama, FakeOpenAI, Fault

pytestmark = pytest.mark.qt_log_ignore(
    # The offscreen platform cannot resize or raise windows; harmless there.
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
)

CV_TEXT = (
    "Ada Lovelace\nada@example.org · +44 20 7946 0000\n\nExperience\n"
    "Programmer, Analytical Engine Project, 1842-1843\n\nEducation\nPrivate tutoring\n"
    "Skills: mathematics, algorithms\n"
)
JD_TEXT = (
    "Senior Python Engineer at Acme Corp\n\nResponsibilities\n- build services\n\n"
    "Requirements\n- 5 years of Python\n- SQL\n\nWe offer a salary of 70k EUR.\n"
)
PER_CALL = 812 + 164  # the fake servers' default prompt + completion counts


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def drop(zone: DropZone, paths: list[Path]) -> None:
    """What the OS sends when files are dragged onto the zone and released."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = QPointF(zone.rect().center())
    enter = QDragEnterEvent(
        zone.rect().center(),  # QDragEnterEvent takes a QPoint before PySide6 6.12
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(zone, enter)
    assert enter.isAccepted()
    assert zone.hovering  # hover feedback while the drag is over the zone
    event = QDropEvent(
        center,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(zone, event)
    assert not zone.hovering


def statuses(window: MainWindow) -> list[str]:
    return [job.status for job in window.jobs.jobs()]


def cell(window: MainWindow, row: int, col: int) -> str:
    return str(window.jobs.index(row, col).data())


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    led = Ledger()
    yield led
    led.close()


def open_window(qtbot, settings: Settings, ledger: Ledger) -> MainWindow:
    window = MainWindow(settings, ledger, engine=Engine.real())
    qtbot.addWidget(window)
    window.confirm_quit = lambda _active: True  # teardown never blocks on a question
    window.show()
    qtbot.waitUntil(lambda: not window.picker.loading, timeout=5000)
    return window


@pytest.fixture
def window(qtbot, fake_ollama: FakeOllama, ledger: Ledger) -> MainWindow:
    return open_window(qtbot, Settings(ollama_host=fake_ollama.url), ledger)


def test_empty_state_tells_a_first_time_user_what_to_do(window: MainWindow) -> None:
    assert window.list_stack.currentWidget() is window.empty_state
    text = window.empty_state.text()
    assert "Drop CVs and job descriptions" in text
    assert "ollama serve" in text
    assert "Preferences" in text
    assert window.cv_zone.accessibleName() and window.jd_zone.accessibleName()


def test_drop_runs_files_shows_fields_and_moves_usage_by_reported_tokens(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, ledger: Ledger, tmp_path: Path
) -> None:
    cv = write(tmp_path, "ada cv.txt", CV_TEXT)
    jd = write(tmp_path, "python role.md", JD_TEXT)

    drop(window.cv_zone, [cv])
    drop(window.jd_zone, [jd])
    qtbot.waitUntil(lambda: window.jobs.rowCount() == 2, timeout=3000)
    assert [j.kind for j in window.jobs.jobs()] == ["cv", "jd"]
    with qtbot.waitSignal(window.usage_panel.refreshed, timeout=10000):
        qtbot.waitUntil(lambda: statuses(window) == ["done", "done"], timeout=10000)
    qtbot.waitUntil(lambda: window.usage_panel.snapshot().session.calls == 2, timeout=3000)

    # The rows say who did the work and what it cost.
    assert cell(window, 0, JobTableModel.MODEL) == "ollama/llama3.2:3b"
    assert cell(window, 0, JobTableModel.TOKENS) == f"{PER_CALL:,}"
    assert cell(window, 0, JobTableModel.COST) == "$0.00 (local)"  # as the result view says
    assert window.progress.value() == 2 and window.progress.maximum() == 2

    window.table.selectRow(0)
    assert "Ada Lovelace" in window.result_view.fields_text()
    window.table.selectRow(1)
    assert "Acme Corp" in window.result_view.fields_text()

    # The usage panel moved by exactly what the server reported, no more, no less.
    chats = len(fake_ollama.chat_requests)
    assert chats == 2
    session = window.usage_panel.snapshot().session
    assert session.prompt_tokens == 2 * 812
    assert session.completion_tokens == 2 * 164
    assert session.total_tokens == chats * PER_CALL
    assert ledger.grand_total(RowFilter()).total_tokens == chats * PER_CALL


def test_unsupported_drop_is_explained_in_the_status_bar(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n")
    drop(window.cv_zone, [picture])
    qtbot.waitUntil(lambda: "unsupported" in window.statusBar().currentMessage(), timeout=3000)
    assert "photo.png" in window.statusBar().currentMessage()
    assert window.jobs.rowCount() == 0


def test_folder_drop_queues_supported_files_inside(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "applicants"
    (folder / "nested").mkdir(parents=True)
    write(folder, "one.txt", CV_TEXT)
    write(folder / "nested", "two.md", CV_TEXT)
    (folder / "notes.xyz").write_text("skip me")
    drop(window.cv_zone, [folder])
    qtbot.waitUntil(lambda: window.jobs.rowCount() == 2, timeout=3000)
    assert sorted(j.name for j in window.jobs.jobs()) == ["one.txt", "two.md"]
    qtbot.waitUntil(lambda: statuses(window) == ["done", "done"], timeout=10000)


def test_kind_can_change_while_queued_and_the_job_uses_it(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.enqueue(Fault.hang(), on="chat")  # keeps the first job busy
    first = write(tmp_path, "first.txt", CV_TEXT)
    second = write(tmp_path, "second.txt", JD_TEXT)
    window.controller.add_files([first, second], "cv")
    qtbot.waitUntil(lambda: statuses(window)[0] in ("waiting", "generating"), timeout=5000)
    assert statuses(window)[1] == "queued"

    running_kind = window.jobs.index(0, JobTableModel.KIND)
    queued_kind = window.jobs.index(1, JobTableModel.KIND)
    assert not window.jobs.flags(running_kind) & Qt.ItemFlag.ItemIsEditable
    assert window.jobs.flags(queued_kind) & Qt.ItemFlag.ItemIsEditable

    # Through the real editor: the combo delegate commits the choice.
    window.table.setCurrentIndex(queued_kind)
    window.table.edit(queued_kind)
    editor = window.table.viewport().findChild(QComboBox)
    assert editor is not None
    editor.setCurrentIndex(editor.findData("jd"))
    editor.activated.emit(editor.currentIndex())
    window.table.commitData(editor)
    assert window.jobs.job_at(1).kind == "jd"
    assert cell(window, 1, JobTableModel.KIND) == "JD"

    fake_ollama.release()
    qtbot.waitUntil(lambda: statuses(window) == ["done", "done"], timeout=10000)
    assert window.jobs.job_at(1).result.kind == "jd"
    assert "hiringOrganization" in str(fake_ollama.chat_requests[-1].body["format"])


def test_cancel_one_then_cancel_all(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.enqueue(Fault.hang(), times=5, on="chat")
    files = [write(tmp_path, f"cv{i}.txt", CV_TEXT) for i in range(3)]
    window.controller.add_files(files, "cv")
    qtbot.waitUntil(lambda: statuses(window)[0] in ("waiting", "generating"), timeout=5000)

    window.table.selectRow(0)
    started = time.monotonic()
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: statuses(window)[0] == "cancelled", timeout=3000)
    assert time.monotonic() - started < 1.5  # "within a second", plus event-loop slack

    # The next one starts on the freed slot; cancel all empties the queue and stops it.
    qtbot.waitUntil(lambda: statuses(window)[1] in ("waiting", "generating"), timeout=5000)
    window.cancel_all_action.trigger()
    assert statuses(window)[2] == "cancelled"  # queued: at once
    qtbot.waitUntil(lambda: statuses(window) == ["cancelled"] * 3, timeout=3000)
    assert cell(window, 2, JobTableModel.STATUS) == "Cancelled"
    assert window.controller.active() == 0

    # Retry brings them back and, with the server answering again, they finish.
    fake_ollama.reset()  # drops the remaining hangs
    window.retry_action.trigger()
    qtbot.waitUntil(lambda: statuses(window) == ["done"] * 3, timeout=15000)


def test_provider_down_turns_the_indicator_and_fails_rows_with_the_message(
    qtbot, ledger: Ledger, tmp_path: Path
) -> None:
    with FakeOllama() as srv:
        dead = srv.url  # a port nobody listens on once the server stops
    window = open_window(qtbot, Settings(ollama_host=dead, ollama_model="llama3.2:3b"), ledger)
    assert window.picker.status == "not_running"
    assert window.picker.indicator.text() == "Not running"
    assert "ollama serve" in window.picker.indicator.toolTip()
    assert "ollama serve" in window.empty_state.text()

    window.controller.add_files([write(tmp_path, "cv.txt", CV_TEXT)], "cv")
    qtbot.waitUntil(lambda: statuses(window) == ["failed"], timeout=10000)
    job = window.jobs.job_at(0)
    assert job.result is not None and job.result.error
    assert cell(window, 0, JobTableModel.STATUS) == f"Failed: {job.result.error}"
    assert job.result.token_usage.total_tokens == 0


def test_no_model_and_provider_down_fails_rows_with_the_pickers_message(
    qtbot, ledger: Ledger, tmp_path: Path
) -> None:
    with FakeOllama() as srv:
        dead = srv.url
    window = open_window(qtbot, Settings(ollama_host=dead), ledger)
    window.controller.add_files([write(tmp_path, "cv.txt", CV_TEXT)], "cv")
    qtbot.waitUntil(lambda: statuses(window) == ["failed"], timeout=3000)
    error = window.jobs.job_at(0).result.error
    assert error == window.picker.status_detail.splitlines()[0]


def test_openai_rows_record_the_model_and_a_price(
    qtbot, fake_openai: FakeOpenAI, ledger: Ledger, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    settings = Settings(
        provider="openai", openai_base_url=fake_openai.base_url, openai_model="gpt-4o-mini"
    )
    window = open_window(qtbot, settings, ledger)
    assert window.picker.status == "ready"
    window.controller.add_files([write(tmp_path, "cv.txt", CV_TEXT)], "cv")
    qtbot.waitUntil(lambda: statuses(window) == ["done"], timeout=10000)
    assert cell(window, 0, JobTableModel.MODEL) == "openai/gpt-4o-mini"
    assert cell(window, 0, JobTableModel.COST).startswith("$")
    row = ledger.query_rows(RowFilter())[0]
    assert row.model == "gpt-4o-mini" and row.total_tokens == PER_CALL


def test_keyboard_delete_removes_and_enter_opens(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.controller.add_files(
        [write(tmp_path, "a.txt", CV_TEXT), write(tmp_path, "b.txt", CV_TEXT)], "cv"
    )
    qtbot.waitUntil(lambda: statuses(window) == ["done", "done"], timeout=10000)
    window.activateWindow()
    window.table.setFocus()
    window.table.selectRow(1)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert window.result_view.result() is window.jobs.job_at(1).result
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert [j.name for j in window.jobs.jobs()] == ["a.txt"]
    window.clear_action.trigger()
    assert window.jobs.rowCount() == 0
    assert window.list_stack.currentWidget() is window.empty_state


def test_paste_queues_text_with_a_guessed_kind(qtbot, window: MainWindow) -> None:
    QGuiApplication.clipboard().setText(JD_TEXT)
    window.paste_action.trigger()
    qtbot.waitUntil(lambda: statuses(window) == ["done"], timeout=10000)
    job = window.jobs.job_at(0)
    assert job.kind == "jd" and job.name.startswith("Pasted text")
    assert job.result.data["hiringOrganization"]


def test_closing_during_work_asks_cancels_and_keeps_every_finished_call(
    qtbot, fake_openai: FakeOpenAI, ledger: Ledger, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    settings = Settings(
        provider="openai",
        openai_base_url=fake_openai.base_url,
        openai_model="gpt-4o-mini",
        concurrency_openai=8,
    )
    window = open_window(qtbot, settings, ledger)
    window.confirm_quit = window._ask_quit  # the real question, answered below
    fake_openai.enqueue(Fault.hang(), times=6, on="chat")
    files = [write(tmp_path, f"cv{i}.txt", CV_TEXT) for i in range(10)]
    window.controller.add_files(files, "cv")
    qtbot.waitUntil(lambda: sum(s == "done" for s in statuses(window)) >= 2, timeout=10000)
    qtbot.waitUntil(lambda: len(fake_openai.chat_requests) >= 8, timeout=5000)

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, answer)
    started = time.monotonic()
    assert window.close()
    assert time.monotonic() - started < 2.5
    assert window.shutdown_clean is True
    # Let the last queued results land in the rows, then compare with the ledger.
    qtbot.waitUntil(lambda: window.runner.running() == 0, timeout=1000)
    assert window.controller.active() == 0  # and nothing queued started after the close
    done = [j for j in window.jobs.jobs() if j.status == "done"]
    cancelled = [j for j in window.jobs.jobs() if j.status == "cancelled"]
    assert len(done) >= 2 and len(done) + len(cancelled) == 10
    assert ledger.count_rows(RowFilter(status="ok")) == len(done)
    # Calls that reached the server and were cut short are recorded too (a call
    # cancelled while connecting is recorded with zero tokens, hence >=).
    assert ledger.count_rows(RowFilter()) >= len(fake_openai.chat_requests)


def test_closing_with_nothing_running_does_not_ask(window: MainWindow) -> None:
    asked: list[int] = []
    window.confirm_quit = lambda n: asked.append(n) or False
    assert window.close()
    assert asked == []


def test_window_remembers_its_geometry(qtbot, window: MainWindow, fake_ollama, ledger) -> None:
    # Smaller than the offscreen screen (800x600), which restoreGeometry clamps to.
    window.resize(740, 560)
    window.close()
    again = open_window(qtbot, Settings(ollama_host=fake_ollama.url), ledger)
    assert (again.width(), again.height()) == (740, 560)
    assert (config.config_dir() / "window.ini").exists()


def test_a_recovered_ledger_is_told_in_the_window(qtbot, fake_ollama, cvjd_home: Path) -> None:
    config.ledger_path().write_bytes(b"this is not a database" * 100)
    led = Ledger()
    try:
        window = open_window(qtbot, Settings(ollama_host=fake_ollama.url), led)
        assert led.recovered_from is not None
        assert window.banner.isVisibleTo(window)
        assert str(led.recovered_from) in window.banner_text.text()
    finally:
        led.close()


def test_command_line_queues_files_and_starts_them(
    qtbot, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    a = write(tmp_path, "a.txt", CV_TEXT)
    b = write(tmp_path, "b.md", CV_TEXT)
    c = write(tmp_path, "c.txt", JD_TEXT)
    config.save_settings(Settings(ollama_host=fake_ollama.url))
    args = app_module.parse_args(["--cv", str(a), "--jd", str(c), "--cv", str(b)])
    assert args.cv == [a, b] and args.jd == [c]
    window = app_module.build_window(args)
    qtbot.addWidget(window)
    window.confirm_quit = lambda _n: True
    try:
        app_module.queue_from_args(window, args)
        qtbot.waitUntil(lambda: window.jobs.rowCount() == 3, timeout=3000)
        qtbot.waitUntil(lambda: statuses(window) == ["done"] * 3, timeout=15000)
        assert sorted((j.name, j.kind) for j in window.jobs.jobs()) == [
            ("a.txt", "cv"),
            ("b.md", "cv"),
            ("c.txt", "jd"),
        ]
        # First use: Ollama and the first model it lists, remembered.
        assert config.load_settings().ollama_model == "llama3.2:3b"
    finally:
        window.close()
        window.ledger.close()


def test_provider_and_model_options_apply_to_this_run() -> None:
    args = app_module.parse_args(["--provider", "openai", "--model", "gpt-4.1-mini"])
    settings = app_module.apply_overrides(Settings(), args)
    assert settings.provider == "openai" and settings.openai_model == "gpt-4.1-mini"


def test_a_budget_refusal_shows_as_refused_by_budget(
    qtbot, fake_ollama: FakeOllama, ledger: Ledger, tmp_path: Path
) -> None:
    from cvjd_desktop.config import Budget
    from cvjd_desktop.extraction import fixed_prompt_tokens

    # The first call fits; once its tokens are recorded, the second would not.
    limit = PER_CALL + fixed_prompt_tokens("cv")
    settings = Settings(ollama_host=fake_ollama.url, budgets=[Budget(period="daily", tokens=limit)])
    window = open_window(qtbot, settings, ledger)
    files = [write(tmp_path, f"cv{i}.txt", CV_TEXT) for i in range(2)]
    window.controller.add_files(files, "cv")
    qtbot.waitUntil(lambda: statuses(window) == ["done", "refused"], timeout=10000)
    assert cell(window, 1, JobTableModel.STATUS) == "Refused by budget"
    assert "budget" in window.statusBar().currentMessage().lower()
    assert len(fake_ollama.chat_requests) == 1  # the refused one was never sent


def test_preferences_and_history_open_and_new_settings_reach_the_pools(
    qtbot, window: MainWindow
) -> None:
    window.history_action.trigger()
    assert window._history is not None and window._history.isVisible()
    assert window.history_action.shortcut().toString() == "Ctrl+H"

    window.preferences_action.trigger()
    dialog = window._settings_dialog
    assert dialog is not None and dialog.isVisible()
    new = window.settings.model_copy(update={"concurrency_ollama": 3})
    with qtbot.waitSignal(window.picker.models_loaded, timeout=5000):
        dialog.settings_changed.emit(new)
    assert window.runner.pools["ollama"].maxThreadCount() == 3
    assert window.settings is new and window.picker.settings is new


def test_the_window_keeps_repainting_while_a_300_page_pdf_and_four_calls_run(
    qtbot, fake_openai: FakeOpenAI, ledger: Ledger, tmp_path: Path, monkeypatch
) -> None:
    import pymupdf

    big = tmp_path / "300 pages.pdf"
    doc = pymupdf.open()
    for number in range(300):
        doc.new_page().insert_text((72, 72), f"Page {number + 1}\n" + CV_TEXT)
    doc.save(big)
    doc.close()
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai.api_key)
    fake_openai.latency = 0.3
    settings = Settings(
        provider="openai",
        openai_base_url=fake_openai.base_url,
        openai_model="gpt-4o-mini",
        concurrency_openai=5,
    )
    window = open_window(qtbot, settings, ledger)
    ticks: list[float] = []
    timer = QTimer(window)
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    window.controller.add_files(
        [big, *(write(tmp_path, f"cv{i}.txt", CV_TEXT) for i in range(4))], "cv"
    )
    qtbot.waitUntil(lambda: statuses(window) == ["done"] * 5, timeout=15000)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 10
    assert max(gaps) < 0.5, f"the GUI thread stalled for {max(gaps):.2f} s"
    assert window.jobs.job_at(0).result.pages == 300


def test_text_dragged_onto_a_zone_is_queued_as_that_kind(qtbot, window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText(CV_TEXT)  # a CV's words, dropped on the job description zone
    center = QPointF(window.jd_zone.rect().center())
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.jd_zone, QDragEnterEvent(center.toPoint(), *args))
    QApplication.sendEvent(window.jd_zone, QDropEvent(center, *args))
    qtbot.waitUntil(lambda: statuses(window) == ["done"], timeout=10000)
    assert window.jobs.job_at(0).kind == "jd"  # the zone decides, not the guess
    assert window.jobs.job_at(0).result.kind == "jd"
