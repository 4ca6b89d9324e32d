"""The usage ledger at 1,000,000 rows: report speed, write latency, size on disk.

Builds a ledger of a year of calls (8 models, 2 providers, failures, unknown prices)
in a temp folder through ``Ledger.record_many`` (the rollup triggers run for every
row, as in real use), then measures:

- per-model totals over all time and over a 30-day range with ragged ends, against
  the baseline of the same aggregate computed straight from ``calls`` (what a
  ledger without the daily rollup would do: a full scan, or an index range scan);
- one ``record`` call (commit + fsync) while 4 threads write at once, median and
  p99, against a lone writer;
- the history window's first page and a filename-search count;
- bytes on disk per row.

``ratio`` is value / baseline: below 1 is faster (or smaller) than the baseline.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cvjd_desktop.usage import CallRecord, Ledger, RowFilter
from cvjd_desktop.usage.db import COST_NUSD_SQL
from cvjd_desktop.usage.records import to_ms

ROWS = 1_000_000
WRITERS = 4
WRITES_PER_THREAD = 150
END = datetime(2026, 12, 1, tzinfo=UTC)
MODELS = (
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("openai", "o3-mini"),
    ("openai", "gpt-4.1-nano"),
    ("openai", "my-finetune"),  # unknown price
    ("ollama", "llama3.2:3b"),
    ("ollama", "qwen2.5:7b"),
    ("ollama", "mistral:7b"),
)

RAW_PER_MODEL = f"""
SELECT COALESCE(model, ''), COUNT(*), SUM(status = 'ok'), SUM(COALESCE(prompt_tokens, 0)),
       SUM(COALESCE(completion_tokens, 0)), SUM(total_tokens), SUM(cached_tokens),
       SUM(reasoning_tokens), SUM({COST_NUSD_SQL.format(col="cost_usd")}), SUM(cost_usd IS NULL)
FROM calls {{where}} GROUP BY 1
"""


def _records(n: int) -> Iterator[CallRecord]:
    rnd = random.Random(42)
    start = END - timedelta(days=365)
    step = timedelta(days=365) / n
    for i in range(n):
        provider, model = MODELS[rnd.randrange(len(MODELS))]
        prompt = rnd.randrange(800, 12_000)
        completion = rnd.randrange(100, 2_000)
        status = "ok" if rnd.random() < 0.9 else rnd.choice(("error", "cancelled"))
        cost = (
            0.0
            if provider == "ollama"
            else None
            if model == "my-finetune"
            else prompt * 1.5e-7 + completion * 6e-7
        )
        yield CallRecord(
            provider=provider,
            model=model,
            status=status,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cached_tokens=prompt // 3 if i % 4 == 0 else 0,
            reasoning_tokens=completion // 2 if model == "o3-mini" else 0,
            cost_usd=cost,
            price_source="local" if provider == "ollama" else "genai-prices",
            kind="cv" if i % 3 else "jd",
            file_name=f"candidate-{i:07d}.pdf",
            file_path=f"/home/recruiter/inbox/candidate-{i:07d}.pdf",
            file_sha256=f"{i:064x}",
            error_kind=None if status == "ok" else "invalid_output",
            error=None if status == "ok" else "the model answered with something that is not JSON",
            duration_ms=rnd.randrange(500, 30_000),
            ts=start + step * i,
        )


def _best_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median of ``repeat`` timed runs after one warm-up, in ms."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _row(
    name: str,
    value: float,
    unit: str,
    baseline: float | None,
    target: float | None,
    note: str,
    *,
    lower_is_better: bool = True,
) -> dict[str, Any]:
    ok = None if target is None else (value <= target if lower_is_better else value >= target)
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": (value / baseline) if baseline else None,
        "target": None
        if target is None
        else f"{'<=' if lower_is_better else '>='} {target:g} {unit}",
        "ok": ok,
        "note": note,
    }


def _write_latencies(ledger: Ledger, threads: int, per_thread: int) -> list[float]:
    start = threading.Barrier(threads)
    lat: list[list[float]] = [[] for _ in range(threads)]

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            rec = CallRecord(
                provider="openai",
                model="gpt-4o-mini",
                status="ok",
                prompt_tokens=1000 + i,
                completion_tokens=100,
                total_tokens=1100 + i,
                cost_usd=0.0002,
                price_source="genai-prices",
                kind="cv",
                file_name=f"bench-{t}-{i}.pdf",
            )
            began = time.perf_counter()
            ledger.record(rec)
            lat[t].append((time.perf_counter() - began) * 1000)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(x for batch in lat for x in batch)


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cvjd-bench-") as tmp:
        path = Path(tmp) / "usage.sqlite3"
        ledger = Ledger(path)
        began = time.perf_counter()
        ledger.record_many(_records(ROWS))
        build_s = time.perf_counter() - began
        rows.append(
            _row(
                "bulk insert 1M rows",
                ROWS / build_s,
                "rows/s",
                None,
                None,
                f"{build_s:.1f} s, one transaction, rollup triggers on",
                lower_is_better=False,
            )
        )

        raw = sqlite3.connect(path)
        all_time = _best_ms(lambda: ledger.totals("model"))
        baseline = _best_ms(lambda: raw.execute(RAW_PER_MODEL.format(where="")).fetchall(), 3)
        rows.append(
            _row(
                "per-model totals, all time",
                all_time,
                "ms",
                baseline,
                100,
                "baseline: same sums straight from calls (full scan, no rollup)",
            )
        )

        since = END - timedelta(days=30, hours=5, minutes=17)
        until = END - timedelta(hours=7, minutes=3)
        window = RowFilter(since=since, until=until)
        ranged = _best_ms(lambda: ledger.totals("model", window))
        where = f"WHERE ts_ms >= {to_ms(since)} AND ts_ms < {to_ms(until)}"
        range_base = _best_ms(lambda: raw.execute(RAW_PER_MODEL.format(where=where)).fetchall(), 3)
        rows.append(
            _row(
                "per-model totals, 30 days, ragged ends",
                ranged,
                "ms",
                range_base,
                100,
                "baseline: same sums from calls via the ts index",
            )
        )
        by_day = _best_ms(lambda: ledger.totals("day"))
        rows.append(_row("per-day totals, all time (365 groups)", by_day, "ms", baseline, 100, ""))

        page = _best_ms(lambda: ledger.query_rows(limit=200))
        rows.append(_row("history: newest 200 rows", page, "ms", None, 50, "ts index, no sort"))
        search = _best_ms(lambda: ledger.count_rows(RowFilter(search="candidate-09")), 3)
        rows.append(
            _row(
                "history: count with filename search",
                search,
                "ms",
                None,
                None,
                "substring search must scan calls",
            )
        )

        lone = _write_latencies(ledger, 1, WRITES_PER_THREAD)
        busy = _write_latencies(ledger, WRITERS, WRITES_PER_THREAD)
        rows.append(
            _row(
                f"record one call, median, {WRITERS} threads writing",
                statistics.median(busy),
                "ms",
                statistics.median(lone),
                20,
                "commit + fsync (synchronous=FULL); baseline: one writer",
            )
        )
        rows.append(
            _row(
                f"record one call, p99, {WRITERS} threads writing",
                _p99(busy),
                "ms",
                _p99(lone),
                100,
                "baseline: one writer",
            )
        )

        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        ledger.close()
        count = ROWS + WRITES_PER_THREAD * (1 + WRITERS)
        size = sum(p.stat().st_size for p in Path(tmp).glob("usage.sqlite3*"))
        conn = sqlite3.connect(path)
        tables_only = _table_bytes(conn)
        conn.close()
        rows.append(
            _row(
                "bytes per row on disk",
                size / count,
                "B",
                tables_only / count if tables_only else None,
                600,
                "baseline: the calls table alone (no indexes, no rollup)",
            )
        )
    return rows


def _table_bytes(conn: sqlite3.Connection) -> int | None:
    """Bytes of the calls table itself, when SQLite was built with dbstat."""
    try:
        row = conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = 'calls'").fetchone()
    except sqlite3.OperationalError:
        return None
    return int(row[0]) if row and row[0] else None
