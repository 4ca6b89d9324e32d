"""The usage history window against real ledgers: filters, totals, lazy rows, chart, CSV."""

from __future__ import annotations

import csv
import dataclasses
import json
import random
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QPointF, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest

from cvjd_desktop.ui.history_export import CSV_COLUMNS, csv_row
from cvjd_desktop.ui.history_window import HistoryWindow, day_start
from cvjd_desktop.usage import CallRecord, Ledger, RowFilter
from cvjd_desktop.usage.reports import INSERT_SQL, record_params

MODELS = (("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("ollama", "llama3.2:3b"))
FIRST_DAY = date(2026, 3, 1)

# The offscreen platform cannot resize or raise native windows (the chart tooltip);
# these notices are about the test platform, not the app.
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
)


def make_records(n: int, days: int, seed: int = 7) -> list[CallRecord]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        provider, model = rng.choice(MODELS)
        prompt, completion = rng.randint(100, 5000), rng.randint(10, 900)
        status = rng.choice(("ok", "ok", "ok", "error", "cancelled"))
        ts = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(
            days=rng.randrange(days), seconds=rng.randrange(86_400)
        )
        if provider == "ollama":
            cost: float | None = 0.0
        else:
            cost = None if i % 11 == 0 else round((prompt * 0.15 + completion * 0.6) / 1e6, 9)
        records.append(
            CallRecord(
                provider=provider,
                model=model,
                status=status,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                cached_tokens=rng.choice((0, 0, 64)),
                cost_usd=cost,
                price_source="local" if provider == "ollama" else "genai-prices",
                kind=rng.choice(("cv", "jd")),
                file_name=f"{rng.choice(('anna', 'bob', 'carla'))}-{i}.pdf",
                file_path=f"/nowhere/{i}.pdf",
                error="model said no" if status == "error" else None,
                error_kind="invalid_output" if status == "error" else None,
                duration_ms=rng.randint(50, 9000),
                ts=ts,
            )
        )
    return records


@pytest.fixture
def filled(cvjd_home: Path) -> Iterator[tuple[Ledger, list[CallRecord]]]:
    ledger = Ledger(cvjd_home / "usage.sqlite3")
    records = make_records(300, days=20)
    ledger.record_many(records)
    stored = ledger.query_rows(RowFilter(), limit=10_000)
    yield ledger, stored
    ledger.close()


def open_window(qtbot, ledger: Ledger) -> HistoryWindow:
    window = HistoryWindow(ledger)
    qtbot.addWidget(window)
    window.resize(1100, 720)
    window.show()
    return window


def wait_all(qtbot, window: HistoryWindow, action) -> None:
    """Run ``action`` (a filter change) and wait until table, totals and chart show it."""
    with qtbot.waitSignals([window.totals_ready, window.chart_ready], timeout=20_000):
        action()
    qtbot.waitUntil(lambda: not window.model.loading, timeout=20_000)


def load_all_rows(qtbot, window: HistoryWindow) -> None:
    model = window.model
    while not model.exhausted:
        if model.canFetchMore(window.table.rootIndex()):
            model.fetchMore(window.table.rootIndex())
        qtbot.waitUntil(lambda: not model.loading, timeout=20_000)


def in_range(rec: CallRecord, first: date, last: date) -> bool:
    return first <= rec.ts.astimezone(UTC).date() <= last


def test_filters_and_totals(qtbot, filled) -> None:
    ledger, records = filled
    window = open_window(qtbot, ledger)
    first, last = FIRST_DAY + timedelta(days=3), FIRST_DAY + timedelta(days=9)

    wait_all(qtbot, window, lambda: window.set_custom_range(first, last))
    assert window.model.order == ("ts", True), "newest first by default"
    wait_all(qtbot, window, lambda: window.select_choice(window.model_box, "gpt-4o-mini"))
    wait_all(qtbot, window, lambda: window.select_choice(window.status_box, "ok"))
    load_all_rows(qtbot, window)

    expected = [
        r
        for r in records
        if in_range(r, first, last) and r.model == "gpt-4o-mini" and r.status == "ok"
    ]
    assert expected, "the fixture should have matching rows"
    shown = [window.model.record(i) for i in range(window.model.rowCount())]
    assert sorted(r.id for r in shown) == sorted(r.id for r in expected)
    grand = window.grand_total
    assert grand.calls == len(expected)
    assert grand.total_tokens == sum(r.total_tokens for r in expected)
    assert grand.prompt_tokens == sum(r.prompt_tokens for r in expected)
    unknown = sum(1 for r in expected if r.cost_usd is None)
    assert grand.unknown_cost_calls == unknown
    assert grand.known_cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in expected))
    assert f"{len(expected):,} calls" in window.totals_label.text()
    # The per-model summary: one model row plus the total row.
    assert window.summary.rowCount() == 2
    assert window.summary.item(0, 0).text() == "gpt-4o-mini"
    assert window.summary.item(0, 1).text() == f"{len(expected):,}"

    # Text search narrows on file names, case-insensitively.
    wait_all(qtbot, window, lambda: window.select_choice(window.status_box, None))
    window.search_edit.setText("ANNA")
    qtbot.waitUntil(lambda: window.filters.search == "ANNA", timeout=5_000)
    qtbot.waitUntil(lambda: getattr(window, "grand_total", None) is not None, timeout=5_000)
    qtbot.waitUntil(
        lambda: (
            window.grand_total.calls
            == sum(
                1
                for r in records
                if in_range(r, first, last) and r.model == "gpt-4o-mini" and "anna" in r.file_name
            )
        ),
        timeout=20_000,
    )
    load_all_rows(qtbot, window)
    assert all("anna" in window.model.record(i).file_name for i in range(window.model.rowCount()))
    assert window.model.rowCount() == window.grand_total.calls


def test_per_model_summary_matches_ledger_report(qtbot, filled) -> None:
    ledger, records = filled
    window = open_window(qtbot, ledger)
    wait_all(qtbot, window, lambda: window.set_preset("all"))
    by_model: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    rows = {
        window.summary.item(i, 0).text(): window.summary.item(i, 1).text()
        for i in range(window.summary.rowCount())
    }
    assert rows == {m: f"{len(v):,}" for m, v in by_model.items()} | {"Total": f"{len(records):,}"}
    assert [t.key for t in window.model_totals] == sorted(by_model)
    for totals in window.model_totals:
        assert totals.completion_tokens == sum(r.completion_tokens for r in by_model[totals.key])


def test_sorting_requeries_the_whole_set(qtbot, filled) -> None:
    ledger, records = filled
    window = open_window(qtbot, ledger)
    wait_all(qtbot, window, lambda: window.set_preset("all"))
    window.model._page_size = 50  # several pages, so sorting only the loaded rows would show
    total_column = 6
    assert window.model.headerData(total_column, Qt.Orientation.Horizontal) == "Total"
    window.table.sortByColumn(total_column, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: window.model.rows_loaded > 0 and not window.model.loading)
    assert window.model.order == ("total_tokens", False)
    assert window.model.rows_loaded == 50
    smallest = sorted(r.total_tokens for r in records)[:50]
    assert [window.model.record(i).total_tokens for i in range(50)] == smallest


def test_chart_series_equal_daily_totals(qtbot, filled) -> None:
    ledger, records = filled
    window = open_window(qtbot, ledger)
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=13)
    wait_all(qtbot, window, lambda: window.set_custom_range(first, last))
    chart = window.chart
    days = [(first + timedelta(days=i)).isoformat() for i in range(14)]
    assert chart.categories == days

    expected_tokens: dict[str, list[float]] = defaultdict(lambda: [0.0] * 14)
    expected_cost: dict[str, list[float]] = defaultdict(lambda: [0.0] * 14)
    for r in records:
        if in_range(r, first, last):
            i = days.index(r.ts.astimezone(UTC).date().isoformat())
            expected_tokens[r.model][i] += r.total_tokens
            expected_cost[r.model][i] += r.cost_usd or 0.0

    series = chart.series()
    assert series is not None
    drawn = {s.label(): [s.at(i) for i in range(s.count())] for s in series.barSets()}
    assert drawn == dict(expected_tokens)
    # Stacked by model: the bars of a day add up to the ledger's per-day totals.
    for day in ledger.totals(by="day", filters=window.filters):
        i = days.index(day.key)
        assert sum(values[i] for values in drawn.values()) == day.total_tokens

    chart.set_metric("cost")
    drawn = {s.label(): [s.at(i) for i in range(s.count())] for s in chart.series().barSets()}
    assert drawn.keys() == expected_cost.keys()
    for model, values in expected_cost.items():
        assert drawn[model] == pytest.approx(values)
    assert chart.unknown_cost_calls == sum(
        1 for r in records if in_range(r, first, last) and r.cost_usd is None
    )
    assert "unknown price" in chart.note.text()

    # Hovering a bar names its model, day and value.
    chart.set_metric("tokens")
    window.tabs.setCurrentWidget(chart)
    qtbot.waitExposed(chart.view)
    series = chart.series()
    model = series.barSets()[0].label()
    index = next(i for i, v in enumerate(chart.values[model]) if v > 0)
    point = chart.chart.mapToPosition(QPointF(index, chart.values[model][index] / 2), series)
    target = chart.view.mapFromScene(chart.chart.mapToScene(point))
    QTest.mouseMove(chart.view.viewport(), target)
    qtbot.waitUntil(lambda: chart.hover_text != "", timeout=5_000)
    assert chart.hover_text.startswith(model)
    assert days[index] in chart.hover_text
    assert f"{round(chart.values[model][index]):,} tokens" in chart.hover_text


def test_csv_export_is_exactly_the_filtered_rows(qtbot, filled, tmp_path: Path) -> None:
    ledger, records = filled
    window = open_window(qtbot, ledger)
    first, last = FIRST_DAY + timedelta(days=2), FIRST_DAY + timedelta(days=15)
    wait_all(qtbot, window, lambda: window.set_custom_range(first, last))
    wait_all(qtbot, window, lambda: window.select_choice(window.provider_box, "openai"))
    target = tmp_path / "out" / "usage.csv"
    with qtbot.waitSignal(window.export_finished, timeout=20_000) as signal:
        window.export_csv(target)
    assert "Exported" in signal.args[0]

    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    expected = sorted(
        (r for r in records if in_range(r, first, last) and r.provider == "openai"),
        key=lambda r: (r.ts, r.id),
    )
    assert rows[1:] == [csv_row(r) for r in expected]
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == [r.id for r in expected]
    # An unknown price is an empty cell, not 0.
    unknown = next(r for r in expected if r.cost_usd is None)
    assert rows[1 + expected.index(unknown)][CSV_COLUMNS.index("cost_usd")] == ""


def test_export_never_contains_the_api_key(qtbot, cvjd_home: Path, memory_keyring) -> None:
    from cvjd_desktop.config import keychain_set

    key = "sk-test-SECRET-1234567890"
    keychain_set("openai", key)
    ledger = Ledger(cvjd_home / "usage.sqlite3")
    ledger.record(
        CallRecord(
            provider="openai",
            model="gpt-4o-mini",
            status="error",
            error=f"Incorrect API key provided: {key}",
            error_kind="auth",
            file_name="x.pdf",
        )
    )
    window = open_window(qtbot, ledger)
    wait_all(qtbot, window, lambda: window.set_preset("all"))
    target = cvjd_home / "export.csv"
    with qtbot.waitSignal(window.export_finished, timeout=20_000):
        window.export_csv(target)
    text = target.read_text(encoding="utf-8")
    assert "Incorrect API key provided" in text
    assert key not in text
    window.close()
    ledger.close()


class UrlRecorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_folder_of_a_row(qtbot, cvjd_home: Path) -> None:
    folder = cvjd_home / "cvs"
    folder.mkdir()
    present = folder / "anna.pdf"
    present.write_bytes(b"%PDF-1.7")
    ledger = Ledger(cvjd_home / "usage.sqlite3")
    now = datetime.now(UTC)
    for name, path, ts in (
        ("anna.pdf", present, now),
        ("gone.pdf", cvjd_home / "deleted" / "gone.pdf", now - timedelta(seconds=5)),
    ):
        ledger.record(
            CallRecord(
                provider="ollama",
                model="llama3.2:3b",
                status="ok",
                file_name=name,
                file_path=str(path),
                ts=ts,
            )
        )
    recorder = UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    try:
        window = open_window(qtbot, ledger)
        wait_all(qtbot, window, lambda: window.set_preset("today"))
        assert window.model.rowCount() == 2
        assert not window.open_folder_button.isEnabled()
        window.table.selectRow(1)
        assert window.model.record(1).file_name == "gone.pdf"
        assert not window.open_folder_button.isEnabled()
        window.table.selectRow(0)
        assert window.open_folder_button.isEnabled()
        qtbot.mouseClick(window.open_folder_button, Qt.MouseButton.LeftButton)
        assert [u.toLocalFile() for u in recorder.urls] == [str(folder)]
    finally:
        QDesktopServices.unsetUrlHandler("file")
    window.close()
    ledger.close()


def test_empty_ledger(qtbot, cvjd_home: Path) -> None:
    ledger = Ledger(cvjd_home / "usage.sqlite3")
    window = open_window(qtbot, ledger)
    wait_all(qtbot, window, lambda: window.set_preset("all"))
    assert window.model.rowCount() == 0
    assert window.grand_total.calls == 0
    assert "0 calls" in window.totals_label.text()
    assert window.chart.stack.currentWidget() is window.chart.empty
    assert window.summary.rowCount() == 0
    window.close()
    ledger.close()


# --- a million rows ----------------------------------------------------------------

BIG_ROWS = 1_000_000
BIG_DAYS = 365


@pytest.fixture(scope="module")
def big_ledger_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,000,000-row ledger, bulk-inserted straight into the ledger's own table."""
    path = tmp_path_factory.mktemp("big") / "usage.sqlite3"
    Ledger(path).close()  # creates the schema (and its rollup triggers)
    start_ms = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
    step = BIG_DAYS * 86_400_000 // BIG_ROWS
    template = record_params(
        CallRecord(provider="openai", model="m", status="ok", kind="cv", file_name="f.pdf")
    )

    def rows() -> Iterator[tuple[object, ...]]:
        for i in range(BIG_ROWS):
            provider, model = MODELS[i % 3]
            row = list(template)
            row[0] = start_ms + i * step
            row[1], row[2] = provider, model
            row[4] = f"cv-{i}.pdf"
            row[7] = "ok" if i % 10 else "error"
            row[10], row[11], row[12] = 1000 + i % 7, 100 + i % 5, 1100 + i % 7 + i % 5
            row[15] = 0.0 if provider == "ollama" else 0.0002
            yield tuple(row)

    conn = sqlite3.connect(path)
    # A throwaway file: no journal and no fsync while filling it (about 30% faster).
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    with conn:
        conn.executemany(INSERT_SQL, rows())
    conn.execute("PRAGMA journal_mode = WAL")  # as the ledger keeps it
    conn.close()
    return path


def test_million_rows_open_lazily(qtbot, big_ledger_path: Path, tmp_path: Path) -> None:
    ledger = Ledger(big_ledger_path)
    window = open_window(qtbot, ledger)
    wait_all(qtbot, window, lambda: window.set_preset("all"))
    assert window.grand_total.calls == BIG_ROWS
    page = window.model.rows_loaded
    assert 0 < page <= 500, "only the first page is fetched"
    # Scrolling to the end fetches one more page, not the rest.
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.model.rows_loaded > page, timeout=10_000)
    qtbot.waitUntil(lambda: not window.model.loading, timeout=10_000)
    assert window.model.rows_loaded <= 3 * page

    # One model, one week: totals equal the ledger's per-model report for that range.
    first = date(2025, 6, 2)
    last = first + timedelta(days=6)
    wait_all(qtbot, window, lambda: window.set_custom_range(first, last))
    wait_all(qtbot, window, lambda: window.select_choice(window.model_box, "gpt-4.1"))
    report = ledger.totals(
        by="model",
        filters=RowFilter(since=day_start(first), until=day_start(last + timedelta(days=1))),
    )
    expected = next(t for t in report if t.key == "gpt-4.1")
    assert dataclasses.replace(window.grand_total, key=expected.key) == expected
    assert [t.key for t in window.model_totals] == ["gpt-4.1"]
    assert window.chart.categories == [(first + timedelta(days=i)).isoformat() for i in range(7)]
    drawn = [window.chart.values["gpt-4.1"][i] for i in range(7)]
    assert sum(drawn) == expected.total_tokens

    target = tmp_path / "week.csv"
    with qtbot.waitSignal(window.export_finished, timeout=30_000):
        window.export_csv(target)
    with target.open(newline="", encoding="utf-8") as fh:
        exported = list(csv.reader(fh))[1:]
    assert len(exported) == expected.calls
    assert {row[CSV_COLUMNS.index("model")] for row in exported} == {"gpt-4.1"}
    days = {row[CSV_COLUMNS.index("ts")][:10] for row in exported}
    assert days == {(first + timedelta(days=i)).isoformat() for i in range(7)}
    window.close()
    ledger.close()


def test_totals_equal_cvjd_usage_for_the_same_range(qtbot, filled, capsys) -> None:
    """The window and ``cvjd usage --by model`` read one ledger the same way."""
    from cvjd_desktop.cli import main as cli_main

    ledger, _records = filled
    window = open_window(qtbot, ledger)
    first, last = FIRST_DAY + timedelta(days=4), FIRST_DAY + timedelta(days=10)
    wait_all(qtbot, window, lambda: window.set_custom_range(first, last))
    capsys.readouterr()
    code = cli_main(
        ["usage", "--by", "model", "--since", str(first), "--until", str(last), "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report, "the range should hold calls"
    assert [t.to_dict("model") for t in window.model_totals] == report
    shown = {
        window.summary.item(i, 0).text(): window.summary.item(i, 1).text()
        for i in range(window.summary.rowCount())
    }
    assert {row["model"]: f"{row['calls']:,}" for row in report}.items() <= shown.items()
    assert window.grand_total.calls == sum(row["calls"] for row in report)


def test_a_cancelled_export_writes_no_file(filled, tmp_path: Path) -> None:
    import threading

    from cvjd_desktop.ui.history_export import ExportCancelled, export_csv

    ledger, records = filled
    cancel = threading.Event()
    seen: list[int] = []

    def progress(written: int) -> None:
        seen.append(written)
        cancel.set()  # the user presses "Cancel export" after the first page

    out = tmp_path / "exports"
    out.mkdir()
    target = out / "partial.csv"
    with pytest.raises(ExportCancelled):
        export_csv(ledger, RowFilter(), target, page_size=50, cancel=cancel, progress=progress)
    assert seen == [50]
    assert list(out.iterdir()) == [], "neither the file nor its temporary"
    assert export_csv(ledger, RowFilter(), target, page_size=50) == len(records)
