"""The usage ledger: durable rows, concurrency, recovery, migrations and reports."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cvjd_desktop import config
from cvjd_desktop.errors import LedgerError
from cvjd_desktop.usage import CallRecord, Ledger, RowFilter, UsageTotals
from cvjd_desktop.usage import db as ledger_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make(i: int = 0, **kw: object) -> CallRecord:
    values: dict[str, object] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "status": "ok",
        "prompt_tokens": 1000 + i,
        "completion_tokens": 100 + i % 7,
        "cached_tokens": i % 5,
        "reasoning_tokens": i % 3,
        "cost_usd": 0.000123 * (1 + i % 11),
        "price_source": "genai-prices",
        "kind": "cv",
        "file_name": f"file-{i}.pdf",
        "ts": T0,
    }
    values.update(kw)
    rec = CallRecord(**values)  # type: ignore[arg-type]
    rec.total_tokens = (rec.prompt_tokens or 0) + (rec.completion_tokens or 0)
    return rec


def python_totals(records: list[CallRecord], key: str = "total") -> UsageTotals:
    """The expected sums, computed the obvious way."""
    t = UsageTotals(key=key)
    for r in records:
        t.calls += 1
        t.succeeded += r.status == "ok"
        t.failed += r.status != "ok"
        t.prompt_tokens += r.prompt_tokens or 0
        t.completion_tokens += r.completion_tokens or 0
        t.total_tokens += r.total_tokens
        t.cached_tokens += r.cached_tokens
        t.reasoning_tokens += r.reasoning_tokens
        if r.cost_usd is None:
            t.unknown_cost_calls += 1
        else:
            t.known_cost_usd += r.cost_usd
    return t


def assert_same(actual: UsageTotals, expected: UsageTotals) -> None:
    assert actual.key == expected.key
    for name in (
        "calls",
        "succeeded",
        "failed",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "unknown_cost_calls",
    ):
        assert getattr(actual, name) == getattr(expected, name), name
    assert actual.known_cost_usd == pytest.approx(expected.known_cost_usd, abs=1e-9)


# --- basic round trip ------------------------------------------------------------------


def test_record_round_trips_every_field(cvjd_home: Path) -> None:
    ledger = Ledger()
    assert ledger.path == config.ledger_path()
    rec = CallRecord(
        provider="openai",
        model="o3-mini",
        status="error",
        prompt_tokens=None,
        completion_tokens=42,
        total_tokens=42,
        cached_tokens=3,
        reasoning_tokens=30,
        cost_usd=None,
        price_source="unknown",
        kind="jd",
        file_name="Job Ad.docx",
        file_path="/home/u/Job Ad.docx",
        file_sha256="ab" * 32,
        error_kind="invalid_output",
        error="the model answered with something that is not JSON",
        duration_ms=1234,
        ts=datetime(2026, 3, 10, 23, 59, 59, 999_999, tzinfo=UTC),
    )
    row_id = ledger.record(rec)
    assert rec.id == row_id
    (back,) = ledger.query_rows()
    assert back.ts == datetime(2026, 3, 10, 23, 59, 59, 999_000, tzinfo=UTC)  # kept to the ms
    back.ts = rec.ts
    assert back == rec
    ledger.close()


def test_naive_times_are_utc_and_days_split_at_utc_midnight() -> None:
    with Ledger() as ledger:
        ledger.record(make(1, ts=datetime(2026, 3, 10, 23, 59, 59, 999_000)))
        ledger.record(make(2, ts=datetime(2026, 3, 11, 0, 0, tzinfo=UTC)))
        ledger.record(make(3, ts=datetime(2026, 3, 11, 1, 30, tzinfo=timezone(timedelta(hours=2)))))
        days = {t.key: t.calls for t in ledger.totals("day")}
    assert days == {"2026-03-10": 2, "2026-03-11": 1}  # 01:30+02:00 is 23:30 UTC on the 10th


def test_bad_status_is_a_bug_not_a_row() -> None:
    with Ledger() as ledger:
        with pytest.raises(ValueError, match="status"):
            ledger.record(make(status="done"))
        assert ledger.count_rows() == 0


def test_rows_are_append_only() -> None:
    with Ledger() as ledger:
        ledger.record(make(1))
    conn = sqlite3.connect(config.ledger_path())
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE calls SET cost_usd = 0")
    conn.close()


def test_closed_ledger_says_so() -> None:
    ledger = Ledger()
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.record(make())


def test_environment_failure_is_a_ledger_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(LedgerError, match="a-folder"):
        Ledger(folder)


# --- concurrency and durability ----------------------------------------------------------


def test_eight_threads_recording_at_once_lose_nothing() -> None:
    ledger = Ledger()
    per_thread, threads = 500, 8
    start = threading.Barrier(threads)
    ids: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    expected: list[CallRecord] = []

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                ids[t].append(ledger.record(records[t][i]))
        except BaseException as exc:  # surfaced below, not swallowed by the thread
            errors.append(exc)

    records = [
        [
            make(
                t * per_thread + i,
                provider="openai" if t % 2 else "ollama",
                model=f"model-{t % 3}",
                status="ok" if i % 4 else "error",
                cost_usd=None if (t == 7 and i % 50 == 0) else 0.0001 * (1 + i % 9),
                ts=T0 + timedelta(hours=t * 7 + i // 100),
            )
            for i in range(per_thread)
        ]
        for t in range(threads)
    ]
    for batch in records:
        expected += batch
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    all_ids = [i for batch in ids for i in batch]
    assert len(set(all_ids)) == threads * per_thread
    assert ledger.count_rows() == threads * per_thread

    assert_same(ledger.grand_total(), python_totals(expected))
    by_model = {t.key: t for t in ledger.totals("model")}
    assert sorted(by_model) == ["model-0", "model-1", "model-2"]
    for key, totals in by_model.items():
        assert_same(totals, python_totals([r for r in expected if r.model == key], key))
    by_provider = {t.key: t for t in ledger.totals("provider")}
    for key, totals in by_provider.items():
        assert_same(totals, python_totals([r for r in expected if r.provider == key], key))
    assert by_model["model-1"].cost_usd is None  # thread 7 recorded unknown prices
    ledger.close()


@pytest.mark.parametrize("threads", [1, 8])
def test_rows_reported_committed_survive_sigkill(tmp_path: Path, threads: int) -> None:
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("ledger_child.py")),
            str(path),
            str(threads),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported: list[int] = []
    for line in child.stdout:
        reported.append(int(line))
        if len(reported) >= 300:
            break
    os.kill(child.pid, signal.SIGKILL)
    reported += [int(line) for line in child.stdout.read().split()]  # printed before the kill
    assert child.wait() == -signal.SIGKILL
    child.stdout.close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    present = {row[0] for row in conn.execute("SELECT id FROM calls")}
    conn.close()
    assert set(reported) <= present
    with Ledger(path) as ledger:  # and it opens as a ledger, rollup consistent
        assert ledger.recovered_from is None
        assert ledger.grand_total().calls == len(present) >= 300


# --- corruption ------------------------------------------------------------------------


def test_garbage_file_is_moved_aside_and_a_fresh_ledger_started(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = config.ledger_path()
    garbage = b"this is not a database, just bytes" * 200
    path.write_bytes(garbage)
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    wal.write_bytes(b"stale wal" * 100)
    shm.write_bytes(b"stale shm" * 100)

    ledger = Ledger()
    aside = ledger.recovered_from
    assert aside is not None
    assert aside.parent == path.parent
    assert aside.name.startswith("usage.sqlite3.corrupt-")
    assert aside.read_bytes() == garbage
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"stale wal" * 100
    assert not wal.exists() or wal.read_bytes() != b"stale wal" * 100
    assert not shm.exists() or shm.read_bytes() != b"stale shm" * 100
    assert f"moved to {aside.name}" in caplog.text
    assert ledger.count_rows() == 0
    ledger.record(make())
    assert ledger.count_rows() == 1
    ledger.close()
    with Ledger() as again:
        assert again.recovered_from is None
        assert again.count_rows() == 1


def test_damaged_schema_page_is_moved_aside() -> None:
    path = config.ledger_path()
    with Ledger() as ledger:
        ledger.record(make())
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # page 1's b-tree: the schema
    path.write_bytes(bytes(data))
    with Ledger() as ledger:
        assert ledger.recovered_from is not None
        assert ledger.count_rows() == 0


def test_a_newer_schema_is_refused_not_moved() -> None:
    path = config.ledger_path()
    Ledger().close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {ledger_db.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerError, match="newer"):
        Ledger()
    assert path.exists()
    assert not list(path.parent.glob("*.corrupt-*"))


# --- migrations ------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT,
    kind TEXT,
    file_name TEXT,
    file_sha256 TEXT,
    status TEXT NOT NULL,
    error_kind TEXT,
    error TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    duration_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_ts ON calls (ts);
PRAGMA user_version = 1;
"""


def test_version_1_file_is_migrated_in_place() -> None:
    path = config.ledger_path()
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    v1_rows = [
        ("2025-12-31T23:30:00.250000+00:00", "openai", "gpt-4o-mini", "cv", "a.pdf", "ok", None,
         1000, 200, 1200, 0.00027, 900),
        ("2026-01-01T00:15:00+00:00", "openai", "gpt-4o-mini", "jd", "b.pdf", "error",
         "invalid_output", 800, 50, 850, 0.00015, 700),
        ("2026-01-01T09:00:00+01:00", "ollama", "llama3.2:3b", "cv", "c.pdf", "ok", None,
         None, 300, 300, 0.0, 5000),
        ("2026-01-02T10:00:00+00:00", "openai", "my-model", "cv", "d.pdf", "ok", None,
         10, 10, 20, None, 100),
    ]  # fmt: skip
    conn.executemany(
        "INSERT INTO calls (ts, provider, model, kind, file_name, status, error_kind,"
        " prompt_tokens, completion_tokens, total_tokens, cost_usd, duration_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        v1_rows,
    )
    conn.commit()
    conn.close()

    with Ledger() as ledger:
        rows = ledger.query_rows(order_by="id", descending=False)
        assert [r.ts for r in rows] == [
            datetime(2025, 12, 31, 23, 30, 0, 250_000, tzinfo=UTC),
            datetime(2026, 1, 1, 0, 15, tzinfo=UTC),
            datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
            datetime(2026, 1, 2, 10, 0, tzinfo=UTC),
        ]
        assert [r.price_source for r in rows] == [
            "genai-prices",
            "genai-prices",
            "local",
            "unknown",
        ]
        assert rows[1].error_kind == "invalid_output"
        assert rows[2].prompt_tokens is None
        assert all(r.cached_tokens == 0 and r.file_path is None for r in rows)
        days = {t.key: (t.calls, t.total_tokens) for t in ledger.totals("day")}
        assert days == {"2025-12-31": (1, 1200), "2026-01-01": (2, 1150), "2026-01-02": (1, 20)}
        assert ledger.grand_total().unknown_cost_calls == 1
        ledger.record(make(ts=datetime(2026, 1, 2, 11, tzinfo=UTC)))
        assert ledger.count_rows() == 5

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (ledger_db.SCHEMA_VERSION,)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"calls_ts", "calls_model_ts", "calls_provider_ts"} <= indexes
    conn.close()


# --- reports ---------------------------------------------------------------------------


def test_totals_match_python_sums_for_any_range() -> None:
    """The rollup + edge-days split gives exactly what summing the rows gives."""
    rnd = random.Random(7)
    base = datetime(2026, 2, 25, tzinfo=UTC)
    records = [
        make(
            i,
            provider=rnd.choice(["openai", "ollama"]),
            model=rnd.choice(["gpt-4o-mini", "gpt-4o", "llama3.2:3b", None]),
            kind=rnd.choice(["cv", "jd", None]),
            status=rnd.choice(["ok", "ok", "error", "cancelled"]),
            cost_usd=rnd.choice([None, 0.0, 0.00031, 0.0123]),
            prompt_tokens=rnd.choice([None, rnd.randrange(5000)]),
            ts=base + timedelta(minutes=rnd.randrange(10 * 24 * 60)),
            file_name=rnd.choice(["CV_Ana.pdf", "jd-backend.docx", "100%_real.txt", "a_b.pdf"]),
        )
        for i in range(600)
    ]
    with Ledger() as ledger:
        assert ledger.record_many(records) == len(records)
        for case in range(40):
            since = base + timedelta(minutes=rnd.randrange(-600, 12 * 24 * 60))
            until = since + timedelta(minutes=rnd.randrange(1, 6 * 24 * 60))
            filters = RowFilter(
                since=since if case % 5 else None,
                until=until if case % 7 else None,
                provider=rnd.choice([None, "openai"]),
                kind=rnd.choice([None, "cv"]),
                status=rnd.choice([None, None, "ok"]),
                search=rnd.choice([None, None, "cv", "%", "_b"]),
            )
            chosen = [r for r in records if _matches(r, filters)]
            assert_same(ledger.grand_total(filters), python_totals(chosen))
            assert ledger.count_rows(filters) == len(chosen)
            for by in ("model", "day"):
                got = {t.key: t for t in ledger.totals(by, filters)}  # type: ignore[arg-type]
                keys = {_key(r, by) for r in chosen}
                assert set(got) == keys
                for key in keys:
                    assert_same(
                        got[key], python_totals([r for r in chosen if _key(r, by) == key], key)
                    )


def _key(r: CallRecord, by: str) -> str:
    if by == "day":
        return r.ts.date().isoformat()
    return r.model or "(unknown)"


def _matches(r: CallRecord, f: RowFilter) -> bool:
    return (
        (f.since is None or r.ts >= f.since)
        and (f.until is None or r.ts < f.until)
        and (f.provider is None or r.provider == f.provider)
        and (f.kind is None or r.kind == f.kind)
        and (f.status is None or r.status == f.status)
        and (f.search is None or f.search.lower() in (r.file_name or "").lower())
    )


def test_unknown_cost_makes_the_group_cost_unknown() -> None:
    with Ledger() as ledger:
        ledger.record(make(1, model="a", cost_usd=0.5))
        ledger.record(make(2, model="b", cost_usd=0.25))
        ledger.record(make(3, model="b", cost_usd=None, price_source="unknown"))
        by_model = {t.key: t for t in ledger.totals("model")}
    assert by_model["a"].cost_usd == 0.5
    assert by_model["b"].cost_usd is None
    assert by_model["b"].known_cost_usd == 0.25
    assert by_model["b"].to_dict("model") == {
        "model": "b",
        "calls": 2,
        "succeeded": 2,
        "failed": 0,
        "prompt_tokens": (1000 + 2) + (1000 + 3),
        "completion_tokens": 102 + 103,
        "total_tokens": 1102 + 1103 + 2 + 3,
        "cached_tokens": 2 + 3,
        "reasoning_tokens": 2 + 0,
        "cost_usd": None,
        "unknown_cost_calls": 1,
    }


def test_history_rows_filter_sort_and_page() -> None:
    with Ledger() as ledger:
        for i in range(30):
            ledger.record(
                make(
                    i,
                    kind="cv" if i % 2 else "jd",
                    file_name=f"{'CV' if i % 2 else 'Job'}-{i:02d}.pdf",
                    ts=T0 + timedelta(minutes=i),
                )
            )
        newest = ledger.query_rows(limit=5)
        expected = ["CV-29.pdf", "Job-28.pdf", "CV-27.pdf", "Job-26.pdf", "CV-25.pdf"]
        assert [r.file_name for r in newest] == expected
        page2 = ledger.query_rows(RowFilter(search="cv"), offset=5, limit=5, descending=False)
        assert [r.file_name for r in page2] == [f"CV-{i:02d}.pdf" for i in (11, 13, 15, 17, 19)]
        by_tokens = ledger.query_rows(order_by="prompt_tokens", limit=1)
        assert by_tokens[0].prompt_tokens == 1029
        window = RowFilter(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20))
        assert ledger.count_rows(window) == 10
        assert ledger.count_rows(RowFilter(kind="jd", search="JOB-0")) == 5
        assert ledger.distinct("kind") == ["cv", "jd"]
        assert ledger.distinct("model") == ["gpt-4o-mini"]
        with pytest.raises(ValueError, match="order by"):
            ledger.query_rows(order_by="id; DROP TABLE calls")


def test_spend_counts_known_usd_and_tokens_in_range() -> None:
    with Ledger() as ledger:
        ledger.record(make(1, cost_usd=0.25, ts=T0))
        ledger.record(make(2, cost_usd=None, ts=T0 + timedelta(hours=1)))
        ledger.record(make(3, cost_usd=0.5, provider="ollama", ts=T0 + timedelta(hours=2)))
        ledger.record(make(4, cost_usd=1.0, ts=T0 - timedelta(days=1)))
        usd, tokens = ledger.spend(T0, provider="openai")
    assert usd == pytest.approx(0.25)
    assert tokens == make(1).total_tokens + make(2).total_tokens


def test_backup_and_clear_keeps_a_copy() -> None:
    with Ledger() as ledger:
        ledger.record_many(make(i) for i in range(20))
        backup = ledger.backup_and_clear()
        assert ledger.count_rows() == 0
        assert ledger.totals() == []
        ledger.record(make(99))
        assert ledger.grand_total().calls == 1
    assert backup.name.startswith("usage.sqlite3.backup-")
    with Ledger(backup) as old:
        assert old.grand_total().calls == 20
