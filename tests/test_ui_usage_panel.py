"""The usage panel reads a real SQLite ledger, off the GUI thread, and tells the truth."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from cvjd_desktop.ui.background import BackgroundCall
from cvjd_desktop.ui.usage_panel import UsagePanel
from cvjd_desktop.usage import CallRecord, Ledger

SESSION_START = datetime.now(UTC) - timedelta(minutes=5)
BEFORE_SESSION = SESSION_START - timedelta(days=2)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "usage.sqlite") as opened:
        yield opened


def record(
    ledger: Ledger,
    model: str,
    prompt: int,
    completion: int,
    cost: float | None,
    *,
    provider: str = "openai",
    status: str = "ok",
    ts: datetime | None = None,
) -> CallRecord:
    rec = CallRecord(
        provider=provider,
        model=model,
        status=status,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=cost,
        price_source="unknown" if cost is None else "genai-prices",
        kind="cv",
        file_name="a.pdf",
        ts=ts or datetime.now(UTC),
    )
    ledger.record(rec)
    return rec


@pytest.fixture
def make_panel(qtbot: QtBot, ledger: Ledger) -> Iterator[Any]:
    panels: list[UsagePanel] = []

    def make() -> UsagePanel:
        panel = UsagePanel(ledger, SESSION_START)
        qtbot.addWidget(panel)
        panels.append(panel)
        # The constructor starts the first read; wait for it to land.
        qtbot.waitUntil(lambda: panel.snapshot() is not None, timeout=5000)
        return panel

    yield make
    for panel in panels:
        assert panel.shutdown()


def expected_row(model: str, recs: list[CallRecord]) -> list[str]:
    prompt = sum(r.prompt_tokens or 0 for r in recs)
    completion = sum(r.completion_tokens or 0 for r in recs)
    return [model, f"{len(recs):,}", f"{prompt:,}", f"{completion:,}", f"{prompt + completion:,}"]


def by_model(panel: UsagePanel) -> dict[str, list[str]]:
    return {row[0]: row for row in panel.displayed_rows()}


def test_totals_per_model_equal_the_recorded_rows(ledger: Ledger, make_panel: Any) -> None:
    mini = [
        record(ledger, "gpt-4o-mini", 1234, 321, 0.000378),
        record(ledger, "gpt-4o-mini", 1500, 400, 0.000465),
        record(ledger, "gpt-4o-mini", 1500, 0, 0.000225, status="error"),
    ]
    llama = [record(ledger, "llama3.2:3b", 2000, 500, 0.0, provider="ollama")]
    panel = make_panel()
    rows = by_model(panel)
    assert rows["gpt-4o-mini"][:5] == expected_row("gpt-4o-mini", mini)
    assert rows["gpt-4o-mini"][5] == "$0.0011"  # 0.001068 rounded to 4 places
    assert rows["llama3.2:3b"][:5] == expected_row("llama3.2:3b", llama)
    assert rows["llama3.2:3b"][5] == "$0.00"
    assert panel.displayed_rows()[-1][:5] == expected_row("Total", mini + llama)
    tokens = sum(r.total_tokens for r in mini + llama)
    assert f"4 calls · 1 failed · {tokens:,} tokens · $0.0011" in panel.summary_text()


def test_session_and_all_time(ledger: Ledger, make_panel: Any, qtbot: QtBot) -> None:
    old = record(ledger, "gpt-4o", 5000, 1000, 0.0225, ts=BEFORE_SESSION)
    new = record(ledger, "gpt-4o", 100, 50, 0.00075)
    panel = make_panel()
    assert panel.scope() == "session"
    assert by_model(panel)["gpt-4o"][:5] == expected_row("gpt-4o", [new])

    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        qtbot.mouseClick(panel._all_button, Qt.MouseButton.LeftButton)
    assert panel.scope() == "all"
    assert by_model(panel)["gpt-4o"][:5] == expected_row("gpt-4o", [old, new])
    assert panel.summary_text().startswith("All time: 2 calls")

    with qtbot.waitSignal(panel.refreshed, timeout=5000):
        panel.set_scope("session")
    assert by_model(panel)["gpt-4o"][:5] == expected_row("gpt-4o", [new])


def test_unknown_price_is_shown_as_unknown(ledger: Ledger, make_panel: Any) -> None:
    record(ledger, "gpt-4o-mini", 1000, 100, 0.0123)
    record(ledger, "my-finetune", 900, 300, None)
    record(ledger, "my-finetune", 900, 300, None)
    panel = make_panel()
    rows = by_model(panel)
    assert rows["my-finetune"][5] == "—"
    assert rows["Total"][5] == "≥ $0.0123"
    assert "$0.0123 + 2 calls of unknown price" in panel.summary_text()
    assert panel.snapshot() is not None
    assert panel.snapshot().total.cost_usd is None


def test_only_unknown_prices_total_is_unknown_too(ledger: Ledger, make_panel: Any) -> None:
    record(ledger, "my-finetune", 900, 300, None)
    panel = make_panel()
    assert panel.displayed_rows()[-1][5] == "—"
    assert "— (1 call of unknown price)" in panel.summary_text()
    assert "$0.00" not in panel.summary_text()


def test_refresh_after_a_new_record(ledger: Ledger, make_panel: Any, qtbot: QtBot) -> None:
    first = record(ledger, "gpt-4o-mini", 10, 5, 0.00001)
    panel = make_panel()
    assert by_model(panel)["gpt-4o-mini"][:5] == expected_row("gpt-4o-mini", [first])

    second = record(ledger, "gpt-4o-mini", 1000, 200, 0.0003)
    panel.refresh()
    qtbot.waitUntil(
        lambda: (
            by_model(panel).get("gpt-4o-mini", [])[:5]
            == expected_row("gpt-4o-mini", [first, second])
        ),
        timeout=5000,
    )


def test_totals_changed_reports_the_session_cost(
    ledger: Ledger, make_panel: Any, qtbot: QtBot
) -> None:
    record(ledger, "gpt-4o", 5000, 1000, 0.5, ts=BEFORE_SESSION)  # not this session
    panel = make_panel()
    record(ledger, "gpt-4o-mini", 1000, 100, 0.002)
    record(ledger, "my-finetune", 900, 300, None)
    with qtbot.waitSignal(panel.totals_changed, timeout=5000) as blocker:
        panel.refresh()
    cost, unknown = blocker.args
    assert cost == pytest.approx(0.002)
    assert unknown == 1


def test_the_empty_ledger_says_what_will_appear(make_panel: Any) -> None:
    panel = make_panel()
    assert panel.displayed_rows() == []
    assert "No calls yet this session" in panel._empty.text()
    assert panel._stack.currentWidget() is panel._empty


def test_budget_banner_is_visible_and_dismissable(make_panel: Any, qtbot: QtBot) -> None:
    panel = make_panel()
    assert panel.banner_text() == ""
    panel.show_budget_message("Daily budget: $4.10 of $5.00 spent (82%).", "warning")
    assert panel._banner.isVisibleTo(panel)
    assert panel.banner_text() == "Daily budget: $4.10 of $5.00 spent (82%)."
    assert panel.banner_level() == "warning"

    panel.show_budget_message("Refused: the monthly budget of $20.00 is spent.", "refused")
    assert panel.banner_level() == "refused"
    assert panel._banner._text.font().bold()

    qtbot.mouseClick(panel._banner._close, Qt.MouseButton.LeftButton)
    assert not panel._banner.isVisibleTo(panel)
    assert panel.banner_text() == ""


def test_a_ledger_that_cannot_be_read_is_reported(
    ledger: Ledger, make_panel: Any, qtbot: QtBot
) -> None:
    panel = make_panel()
    ledger.close()
    panel.refresh()
    qtbot.waitUntil(lambda: "Could not read the usage ledger" in panel.banner_text(), timeout=5000)


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
def test_narrow_panel_folds_the_token_split_and_keeps_names_readable(
    ledger: Ledger, make_panel: Any, qtbot: QtBot
) -> None:
    record(ledger, "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", 123456, 65432, 0.0)
    panel = make_panel()
    panel.resize(300, 300)
    panel.show()
    qtbot.waitExposed(panel)
    table = panel._table
    qtbot.waitUntil(lambda: table.isColumnHidden(2) and table.isColumnHidden(3))
    assert table.columnWidth(0) >= table.fontMetrics().horizontalAdvance("llama3.2:3b")
    panel.resize(700, 300)
    qtbot.waitUntil(lambda: not table.isColumnHidden(2) and not table.isColumnHidden(3))


# --- the background helper -----------------------------------------------------------


def test_background_call_delivers_on_the_gui_thread(qtbot: QtBot) -> None:
    call = BackgroundCall()
    seen: dict[str, int] = {}

    def work() -> str:
        seen["worker"] = threading.get_ident()
        return "done"

    with qtbot.waitSignal(call.succeeded, timeout=5000) as blocker:
        call.submit(work)
    assert blocker.args == ["done"]
    assert seen["worker"] != threading.get_ident()
    assert call.shutdown()


def test_background_call_drops_superseded_results(qtbot: QtBot) -> None:
    call = BackgroundCall()
    release = threading.Event()
    results: list[str] = []
    call.succeeded.connect(results.append)

    def slow() -> str:
        release.wait(5)
        return "old"

    call.submit(slow)
    call.submit(lambda: "middle")  # waits, then is replaced by the next request
    call.submit(lambda: "new")
    release.set()
    with qtbot.waitSignal(call.succeeded, timeout=5000):
        pass
    qtbot.waitUntil(lambda: not call.busy, timeout=5000)
    assert results == ["new"]
    assert call.shutdown()


def test_background_call_reports_failures(qtbot: QtBot) -> None:
    call = BackgroundCall()

    def broken() -> None:
        raise ValueError("no such table")

    with qtbot.waitSignal(call.failed, timeout=5000) as blocker:
        call.submit(broken)
    assert isinstance(blocker.args[0], ValueError)
    assert call.shutdown()
