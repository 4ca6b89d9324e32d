"""Report queries: totals per model, provider or UTC day, and the history window's rows.

A time range is split into whole UTC days, summed from the ``daily`` rollup, and the
partial days at either end, summed from ``calls`` through the ``ts`` index; a
filename search can only be answered from ``calls``. See ``db.py`` for why the
rollup exists and why both paths sum costs in integer nano-dollars.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from cvjd_desktop.usage.db import CALLS_COLUMNS, COST_NUSD_SQL
from cvjd_desktop.usage.records import (
    DAY_MS,
    NO_MODEL,
    CallRecord,
    RowFilter,
    UsageTotals,
    from_ms,
    to_ms,
)

GroupBy = Literal["model", "provider", "day"]
GROUP_BYS: tuple[GroupBy, ...] = ("model", "provider", "day")

_EQUALITY_FILTERS = ("provider", "model", "kind", "status")

ORDERABLE = {
    "ts": "ts_ms",
    **{c: c for c in CALLS_COLUMNS if c not in ("ts_ms",)},
}
"""Columns the history window may sort by (``ts`` is the stored ``ts_ms``)."""

_SUMS = (
    "COUNT(*) AS calls, SUM(status = 'ok'), SUM(COALESCE(prompt_tokens, 0)),"
    " SUM(COALESCE(completion_tokens, 0)), SUM(total_tokens), SUM(cached_tokens),"
    f" SUM(reasoning_tokens), SUM({COST_NUSD_SQL.format(col='cost_usd')}), SUM(cost_usd IS NULL)"
)
_ROLLUP_SUMS = (
    "SUM(calls), SUM(CASE WHEN status = 'ok' THEN calls ELSE 0 END), SUM(prompt_tokens),"
    " SUM(completion_tokens), SUM(total_tokens), SUM(cached_tokens), SUM(reasoning_tokens),"
    " SUM(cost_nusd), SUM(unknown_cost_calls)"
)


@dataclass(frozen=True)
class _Plan:
    """Which part of a range comes from the rollup and which from raw rows."""

    rollup: tuple[int | None, int | None] | None  # [first day, end day) or None
    raw: list[tuple[int | None, int | None]]  # [since ms, until ms) pieces


def _range_ms(filters: RowFilter) -> tuple[int | None, int | None]:
    since = to_ms(filters.since) if filters.since is not None else None
    until = to_ms(filters.until) if filters.until is not None else None
    return since, until


def _plan(filters: RowFilter) -> _Plan:
    since, until = _range_ms(filters)
    if filters.search:
        return _Plan(None, [(since, until)])
    first_day = None if since is None else -(-since // DAY_MS)  # ceil
    end_day = None if until is None else until // DAY_MS
    if first_day is not None and end_day is not None and first_day >= end_day:
        return _Plan(None, [(since, until)])  # no whole day inside the range
    raw: list[tuple[int | None, int | None]] = []
    if since is not None and first_day is not None and since < first_day * DAY_MS:
        raw.append((since, first_day * DAY_MS))
    if until is not None and end_day is not None and until > end_day * DAY_MS:
        raw.append((end_day * DAY_MS, until))
    return _Plan((first_day, end_day), raw)


def _equality_where(filters: RowFilter, rollup: bool) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for name in _EQUALITY_FILTERS:
        value = getattr(filters, name)
        if value is not None:
            where.append(f"{name} = ?")
            params.append(value)
    if filters.search and not rollup:
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("file_name LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return where, params


def _where_sql(
    filters: RowFilter, rollup: bool, column: str, start: int | None, end: int | None
) -> tuple[str, list[Any]]:
    """The filters' WHERE clause with ``start <= column < end`` (either end open)."""
    where, params = _equality_where(filters, rollup=rollup)
    if start is not None:
        where.append(f"{column} >= ?")
        params.append(start)
    if end is not None:
        where.append(f"{column} < ?")
        params.append(end)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _raw_where(filters: RowFilter, since: int | None, until: int | None) -> tuple[str, list[Any]]:
    return _where_sql(filters, False, "ts_ms", since, until)


def _key_sql(by: GroupBy, rollup: bool) -> str:
    if by == "day":
        return "day" if rollup else "ts_ms / 86400000"
    if by == "model":
        return "model" if rollup else "COALESCE(model, '')"
    return "provider"


def _key_text(by: GroupBy, value: Any) -> str:
    if by == "day":
        return (date(1970, 1, 1) + timedelta(days=int(value))).isoformat()
    if by == "model":
        return str(value) or NO_MODEL
    return str(value)


def _fold(into: dict[str, UsageTotals], by: GroupBy, rows: list[Any]) -> None:
    for key, calls, ok, prompt, completion, total, cached, reasoning, nusd, unknown in rows:
        part = UsageTotals(
            key=_key_text(by, key),
            calls=calls,
            succeeded=ok,
            failed=calls - ok,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=total,
            cached_tokens=cached,
            reasoning_tokens=reasoning,
            known_cost_usd=nusd / 1e9,
            unknown_cost_calls=unknown,
        )
        if part.key in into:
            into[part.key].add(part)
        else:
            into[part.key] = part


def totals(conn: sqlite3.Connection, by: GroupBy, filters: RowFilter) -> list[UsageTotals]:
    """Per-group sums over the filtered calls, sorted by key; empty groups are absent."""
    if by not in GROUP_BYS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUP_BYS)}")
    plan = _plan(filters)
    groups: dict[str, UsageTotals] = {}
    if plan.rollup is not None:
        first_day, end_day = plan.rollup
        where_sql, params = _where_sql(filters, True, "day", first_day, end_day)
        sql = f"SELECT {_key_sql(by, True)} AS k, {_ROLLUP_SUMS} FROM daily{where_sql} GROUP BY k"
        _fold(groups, by, conn.execute(sql, params).fetchall())
    for since, until in plan.raw:
        where_sql, params = _raw_where(filters, since, until)
        sql = f"SELECT {_key_sql(by, False)} AS k, {_SUMS} FROM calls{where_sql} GROUP BY k"
        _fold(groups, by, conn.execute(sql, params).fetchall())
    return [groups[k] for k in sorted(groups)]


def grand_total(conn: sqlite3.Connection, filters: RowFilter) -> UsageTotals:
    result = UsageTotals(key="total")
    for part in totals(conn, "provider", filters):
        result.add(part)
    return result


def count_rows(conn: sqlite3.Connection, filters: RowFilter) -> int:
    """How many calls match; from the rollup unless a filename search needs the rows."""
    if filters.search:
        where_sql, params = _raw_where(filters, *_range_ms(filters))
        return int(conn.execute(f"SELECT COUNT(*) FROM calls{where_sql}", params).fetchone()[0])
    return grand_total(conn, filters).calls


def query_rows(
    conn: sqlite3.Connection,
    filters: RowFilter,
    *,
    offset: int,
    limit: int,
    order_by: str,
    descending: bool,
) -> list[CallRecord]:
    column = ORDERABLE.get(order_by)
    if column is None:
        raise ValueError(f"cannot order by {order_by!r}; choose one of {', '.join(ORDERABLE)}")
    where_sql, params = _raw_where(filters, *_range_ms(filters))
    direction = "DESC" if descending else "ASC"
    tie = "" if column == "id" else f", id {direction}"
    sql = (
        f"SELECT {', '.join(CALLS_COLUMNS)} FROM calls{where_sql}"
        f" ORDER BY {column} {direction}{tie} LIMIT ? OFFSET ?"
    )
    rows = conn.execute(sql, [*params, max(limit, 0), max(offset, 0)]).fetchall()
    return [record_from_row(row) for row in rows]


def record_from_row(row: tuple[Any, ...]) -> CallRecord:
    values = dict(zip(CALLS_COLUMNS, row, strict=True))
    ts = from_ms(values.pop("ts_ms"))
    return CallRecord(ts=ts, **values)


def record_params(rec: CallRecord) -> tuple[Any, ...]:
    """The INSERT parameters of a record, in ``CALLS_COLUMNS`` order minus ``id``."""
    return (
        to_ms(rec.ts),
        rec.provider,
        rec.model,
        rec.kind,
        rec.file_name,
        rec.file_path,
        rec.file_sha256,
        rec.status,
        rec.error_kind,
        rec.error,
        rec.prompt_tokens,
        rec.completion_tokens,
        rec.total_tokens,
        rec.cached_tokens,
        rec.reasoning_tokens,
        rec.cost_usd,
        rec.price_source,
        rec.duration_ms,
    )


INSERT_SQL = (
    f"INSERT INTO calls ({', '.join(CALLS_COLUMNS[1:])})"
    f" VALUES ({', '.join('?' * (len(CALLS_COLUMNS) - 1))})"
)
