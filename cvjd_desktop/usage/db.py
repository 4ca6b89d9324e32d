"""The ledger's SQLite file: connections, schema, migrations and recovery.

Choices, and why:

- **WAL with ``synchronous=FULL``.** WAL with ``NORMAL`` already keeps every
  committed row when the *process* is killed (the WAL pages are in the OS cache),
  but may lose the last commits on power loss or an OS crash. A ledger row is
  money; FULL costs one fsync per call (about 0.3 ms here) against an LLM call of
  seconds, so we pay it and a committed row survives a power cut too.
- **Epoch milliseconds** (``ts_ms INTEGER``), not ISO text: integer range scans on
  the ``ts`` indexes, and the UTC day is ``ts_ms / 86400000`` with no parsing.
- **A daily rollup table** (``daily``), kept by triggers in the same transaction as
  each insert, so it cannot drift from ``calls``. Reports over whole UTC days read a
  few thousand rollup rows instead of a million calls; the partial days at the ends
  of a range are summed from ``calls`` through the ``ts`` index. Costs are summed as
  integer nano-dollars on both paths, so the two agree to the last digit.
- **Rows are append-only**: an update trigger aborts, because a recorded price must
  never be rewritten (the only deletion is "clear history", after a backup).
- **``PRAGMA user_version``** is the schema version; ``MIGRATIONS[v]`` takes a file
  from version ``v`` to ``v + 1`` in one transaction.
- **Corruption** (a file without SQLite's header, checked before SQLite touches it,
  or ``SQLITE_NOTADB`` / ``SQLITE_CORRUPT`` while opening) moves the
  file aside as ``usage.sqlite3.corrupt-<stamp>`` together with its ``-wal`` (so the
  pair still opens for forensics) and drops the ``-shm`` index (rebuilt from the
  WAL). Leaving the old ``-wal`` beside a fresh file would let SQLite replay a
  stranger's pages into it. Only the header and schema are read on open; damage
  deeper in the file surfaces later as a ``LedgerError``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cvjd_desktop import config
from cvjd_desktop.errors import LedgerError
from cvjd_desktop.usage.records import to_ms

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process (the CLI while the app runs)."""

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

CALLS_COLUMNS = (
    "id",
    "ts_ms",
    "provider",
    "model",
    "kind",
    "file_name",
    "file_path",
    "file_sha256",
    "status",
    "error_kind",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "price_source",
    "duration_ms",
)

_CREATE_CALLS = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT,
    kind TEXT,
    file_name TEXT,
    file_path TEXT,
    file_sha256 TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
    error_kind TEXT,
    error TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    price_source TEXT,
    duration_ms INTEGER NOT NULL DEFAULT 0
)
"""

_CREATE_DAILY = """
CREATE TABLE daily (
    day INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    unknown_cost_calls INTEGER NOT NULL,
    PRIMARY KEY (day, provider, model, kind, status)
) WITHOUT ROWID
"""

COST_NUSD_SQL = "COALESCE(CAST(ROUND({col} * 1e9) AS INTEGER), 0)"
"""A cost in integer nano-dollars: exact sums whatever the order of addition."""

_ROLLUP_KEY = """
    day = OLD.ts_ms / 86400000 AND provider = OLD.provider AND model = COALESCE(OLD.model, '')
    AND kind = COALESCE(OLD.kind, '') AND status = OLD.status"""

TRIGGER_INSERT = f"""
CREATE TRIGGER calls_rollup_insert AFTER INSERT ON calls BEGIN
    INSERT INTO daily VALUES (
        NEW.ts_ms / 86400000, NEW.provider, COALESCE(NEW.model, ''), COALESCE(NEW.kind, ''),
        NEW.status, 1, COALESCE(NEW.prompt_tokens, 0), COALESCE(NEW.completion_tokens, 0),
        NEW.total_tokens, NEW.cached_tokens, NEW.reasoning_tokens,
        {COST_NUSD_SQL.format(col="NEW.cost_usd")}, NEW.cost_usd IS NULL
    )
    ON CONFLICT (day, provider, model, kind, status) DO UPDATE SET
        calls = calls + 1,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens,
        reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_nusd = cost_nusd + excluded.cost_nusd,
        unknown_cost_calls = unknown_cost_calls + excluded.unknown_cost_calls;
END
"""

TRIGGER_DELETE = f"""
CREATE TRIGGER calls_rollup_delete AFTER DELETE ON calls BEGIN
    UPDATE daily SET
        calls = calls - 1,
        prompt_tokens = prompt_tokens - COALESCE(OLD.prompt_tokens, 0),
        completion_tokens = completion_tokens - COALESCE(OLD.completion_tokens, 0),
        total_tokens = total_tokens - OLD.total_tokens,
        cached_tokens = cached_tokens - OLD.cached_tokens,
        reasoning_tokens = reasoning_tokens - OLD.reasoning_tokens,
        cost_nusd = cost_nusd - {COST_NUSD_SQL.format(col="OLD.cost_usd")},
        unknown_cost_calls = unknown_cost_calls - (OLD.cost_usd IS NULL)
    WHERE {_ROLLUP_KEY};
    DELETE FROM daily WHERE {_ROLLUP_KEY} AND calls <= 0;
END
"""

_TRIGGER_NO_UPDATE = """
CREATE TRIGGER calls_append_only BEFORE UPDATE ON calls BEGIN
    SELECT RAISE(ABORT, 'ledger rows are append-only: a recorded call is never rewritten');
END
"""

_INDEXES = (
    "CREATE INDEX calls_ts ON calls (ts_ms)",
    "CREATE INDEX calls_model_ts ON calls (model, ts_ms)",
    "CREATE INDEX calls_provider_ts ON calls (provider, ts_ms)",
)

_REBUILD_ROLLUP = f"""
INSERT INTO daily
SELECT ts_ms / 86400000, provider, COALESCE(model, ''), COALESCE(kind, ''), status, COUNT(*),
       SUM(COALESCE(prompt_tokens, 0)), SUM(COALESCE(completion_tokens, 0)), SUM(total_tokens),
       SUM(cached_tokens), SUM(reasoning_tokens), SUM({COST_NUSD_SQL.format(col="cost_usd")}),
       SUM(cost_usd IS NULL)
FROM calls GROUP BY 1, 2, 3, 4, 5
"""


def _create_latest(conn: sqlite3.Connection) -> None:
    for sql in (_CREATE_CALLS, _CREATE_DAILY, *_INDEXES):
        conn.execute(sql)
    for sql in (TRIGGER_INSERT, TRIGGER_DELETE, _TRIGGER_NO_UPDATE):
        conn.execute(sql)


def _iso_to_ms(value: str | None) -> int | None:
    return None if value is None else to_ms(datetime.fromisoformat(value))


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """v1 (the first release) kept ``ts`` as ISO text and had no cached or reasoning
    tokens, no price source and no file path; reports scanned the whole table.

    v2 rebuilds ``calls`` with epoch-ms timestamps and the new columns, then fills the
    daily rollup from the old rows. Old rows get 0 cached/reasoning tokens (v1 never
    saw them) and a price source inferred the only way v1 could have priced: Ollama
    was local, a null cost was unknown, anything else came from genai-prices.
    """
    conn.create_function("cvjd_iso_ms", 1, _iso_to_ms, deterministic=True)
    conn.execute("ALTER TABLE calls RENAME TO calls_v1")
    for sql in (_CREATE_CALLS, _CREATE_DAILY):
        conn.execute(sql)
    conn.execute(
        """
        INSERT INTO calls (id, ts_ms, provider, model, kind, file_name, file_sha256, status,
                           error_kind, error, prompt_tokens, completion_tokens, total_tokens,
                           cost_usd, price_source, duration_ms)
        SELECT id, cvjd_iso_ms(ts), provider, model, kind, file_name, file_sha256, status,
               error_kind, error, prompt_tokens, completion_tokens, total_tokens, cost_usd,
               CASE WHEN provider = 'ollama' THEN 'local'
                    WHEN cost_usd IS NULL THEN 'unknown'
                    ELSE 'genai-prices' END,
               duration_ms
        FROM calls_v1
        """
    )
    conn.execute("DROP TABLE calls_v1")
    for sql in _INDEXES:
        conn.execute(sql)
    conn.execute(_REBUILD_ROLLUP)
    for sql in (TRIGGER_INSERT, TRIGGER_DELETE, _TRIGGER_NO_UPDATE):
        conn.execute(sql)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _create_latest,  # 0 -> latest: a new file is created at the newest schema directly
    _v1_to_v2,
]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, FULL sync."""
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,  # pooled: one thread at a time, not always the same one
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception.

    IMMEDIATE takes the write lock up front, so a writer waits (busy timeout) at
    ``BEGIN`` instead of failing half-way with a lock upgrade deadlock.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file to ``SCHEMA_VERSION``; returns the version it was found at."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found == SCHEMA_VERSION:
        return found
    if found > SCHEMA_VERSION:
        raise LedgerError(
            f"The usage ledger {conn_path(conn)} was written by a newer cvjd-desktop "
            f"(schema {found}, this version knows {SCHEMA_VERSION}); update the app to read it"
        )
    with transaction(conn):
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            MIGRATIONS[0](conn)
        else:
            for step in MIGRATIONS[version:]:
                step(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found


def conn_path(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row else "?"


def check_readable(conn: sqlite3.Connection) -> None:
    """Touch the header and the schema: what garbage or a truncated file fails on."""
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()


def is_corruption(exc: BaseException) -> bool:
    """True for "not a database" and "malformed", false for locks, I/O and bugs."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.DatabaseError)
        and code is not None
        and (code & 0xFF)
        in (
            _SQLITE_CORRUPT,
            _SQLITE_NOTADB,
        )
    )


_SQLITE_HEADER = b"SQLite format 3\x00"


def has_foreign_header(path: Path) -> bool:
    """True when ``path`` holds bytes that are not an SQLite database.

    Checked before SQLite ever opens the file: closing a connection to a file with
    a bad header makes SQLite delete its ``-wal``, which may hold the last committed
    rows someone could still rescue. A missing or empty file is a new ledger.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return False
    return bool(head) and head != _SQLITE_HEADER


def move_aside(path: Path) -> Path:
    """Rename a broken ledger and its side files; returns where the file went."""
    aside = config.moved_aside_name(path)
    path.replace(aside)
    for suffix in ("-wal", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(aside.with_name(aside.name + suffix))
    path.with_name(path.name + "-shm").unlink(missing_ok=True)
    return aside
