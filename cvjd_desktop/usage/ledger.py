"""The usage ledger: one durable SQLite row per provider call.

Thread safety: a small pool of connections, each used by one thread at a time, so
readers (the usage panel, the history window) never wait for each other, and a
process-wide write lock that serialises writers in this process before SQLite's own
lock does (SQLite's busy handler sleeps and retries, which is slow and unfair under
contention; the lock hands over at once). Other processes (the CLI while the window
is open) are covered by the busy timeout.

``record`` returns only after ``COMMIT`` (fsynced, see ``db.py``), so a caller that
got an id back can rely on the row surviving a kill.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cvjd_desktop import config
from cvjd_desktop.errors import LedgerError
from cvjd_desktop.usage import db, reports
from cvjd_desktop.usage.records import STATUSES, CallRecord, RowFilter, UsageTotals
from cvjd_desktop.usage.reports import GroupBy

log = logging.getLogger(__name__)

_MAX_IDLE_CONNECTIONS = 8
_DISTINCT_COLUMNS = ("provider", "model", "kind", "status")


class Ledger:
    """The single source of truth for usage; see the module docstring for threading.

    Attributes:
        path: the SQLite file.
        recovered_from: where a corrupt ledger file was moved on open (the fresh
            ledger starts empty), or None. The CLI and the window tell the user.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config.ledger_path()
        self.recovered_from: Path | None = None
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"Cannot create the folder of the usage ledger {self.path}: {exc}"
            ) from exc
        self._idle.append(self._open())

    # --- opening -------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        """Connect, check and migrate; move a corrupt file aside and start afresh."""
        try:
            foreign = db.has_foreign_header(self.path)
        except OSError as exc:
            raise LedgerError(f"Could not open the usage ledger {self.path}: {exc}") from exc
        if foreign:
            self._move_aside("file is not a database")
        else:
            try:
                return self._open_checked()
            except sqlite3.DatabaseError as exc:
                if not db.is_corruption(exc):
                    raise self._environment_error("open", exc) from exc
                self._move_aside(str(exc))
        try:
            return self._open_checked()
        except sqlite3.DatabaseError as exc:
            raise self._environment_error("open", exc) from exc

    def _move_aside(self, why: str) -> None:
        try:
            self.recovered_from = db.move_aside(self.path)
        except OSError as exc:
            raise LedgerError(
                f"The usage ledger {self.path} is damaged ({why}) and could not be moved "
                f"aside ({exc}); move or delete it by hand"
            ) from exc
        log.warning(
            "usage ledger %s was damaged (%s); moved to %s and started a fresh one",
            self.path,
            why,
            self.recovered_from.name,
        )

    def _open_checked(self) -> sqlite3.Connection:
        conn = db.connect(self.path)
        try:
            db.check_readable(conn)
            found = db.migrate(conn)
        except BaseException:
            conn.close()
            raise
        if 0 < found < db.SCHEMA_VERSION:
            log.info("usage ledger %s migrated from schema %d", self.path, found)
        return conn

    def _environment_error(self, action: str, exc: sqlite3.DatabaseError) -> LedgerError:
        return LedgerError(f"Could not {action} the usage ledger {self.path}: {exc}")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise LedgerError(f"The usage ledger {self.path} is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = db.connect(self.path)
            except sqlite3.DatabaseError as exc:
                raise self._environment_error("open", exc) from exc
        try:
            yield conn
        finally:
            with self._pool_lock:
                keep = not self._closed and len(self._idle) < _MAX_IDLE_CONNECTIONS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """A connection whose environment failures become ``LedgerError``.

        Programming errors (``sqlite3.ProgrammingError``, constraint violations) stay
        what they are: they are bugs, not something to tell the user about.
        """
        with self._connection() as conn:
            try:
                yield conn
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) or db.is_corruption(exc):
                    raise self._environment_error(action, exc) from exc
                raise

    # --- writing -------------------------------------------------------------------

    def record(self, rec: CallRecord) -> int:
        """Commit one call; returns its row id (also set on ``rec.id``).

        Raises ``LedgerError`` when the environment fails (disk full, read-only
        folder, another process holding the lock past the busy timeout).
        """
        _check(rec)
        params = reports.record_params(rec)
        with self._write_lock, self._reading("record a call in") as conn:
            with db.transaction(conn):
                cursor = conn.execute(reports.INSERT_SQL, params)
            row_id = cursor.lastrowid
        if row_id is None:  # pragma: no cover - an INSERT always has one
            raise LedgerError("SQLite returned no row id")
        rec.id = row_id
        return row_id

    def record_many(self, records: Iterable[CallRecord]) -> int:
        """Commit many calls in one transaction (imports, benchmarks); returns how many."""

        def params() -> Iterator[tuple[object, ...]]:
            for rec in records:
                _check(rec)
                yield reports.record_params(rec)

        with self._write_lock, self._reading("record calls in") as conn:
            with db.transaction(conn):
                cursor = conn.executemany(reports.INSERT_SQL, params())
            return int(cursor.rowcount)

    def backup_and_clear(self) -> Path:
        """Copy the ledger to ``usage.sqlite3.backup-<stamp>``, then empty it.

        The copy uses SQLite's online backup, so it includes what is still in the WAL
        and is a consistent file on its own. Returns the backup's path.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = self.path.with_name(f"{self.path.name}.backup-{stamp}")
        with self._write_lock, self._reading("clear") as conn:
            dest = sqlite3.connect(backup)
            try:
                conn.backup(dest)
            finally:
                dest.close()
            with db.transaction(conn):
                # The per-row delete trigger would update the rollup a million times.
                conn.execute("DROP TRIGGER calls_rollup_delete")
                conn.execute("DELETE FROM calls")
                conn.execute("DELETE FROM daily")
                conn.execute(db.TRIGGER_DELETE)
        log.info("usage ledger cleared; backup at %s", backup)
        return backup

    # --- reading -------------------------------------------------------------------

    def totals(self, by: GroupBy = "model", filters: RowFilter | None = None) -> list[UsageTotals]:
        """Sums per model, provider or UTC day ("YYYY-MM-DD"), sorted by key."""
        with self._reading("read") as conn:
            return reports.totals(conn, by, filters or RowFilter())

    def grand_total(self, filters: RowFilter | None = None) -> UsageTotals:
        with self._reading("read") as conn:
            return reports.grand_total(conn, filters or RowFilter())

    def query_rows(
        self,
        filters: RowFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 200,
        order_by: str = "ts",
        descending: bool = True,
    ) -> list[CallRecord]:
        """One page of calls for the history window (ties broken by row id)."""
        with self._reading("read") as conn:
            return reports.query_rows(
                conn,
                filters or RowFilter(),
                offset=offset,
                limit=limit,
                order_by=order_by,
                descending=descending,
            )

    def count_rows(self, filters: RowFilter | None = None) -> int:
        with self._reading("read") as conn:
            return reports.count_rows(conn, filters or RowFilter())

    def distinct(self, column: Literal["provider", "model", "kind", "status"]) -> list[str]:
        """Values present in ``column`` (for filter pickers), sorted; unknowns left out."""
        if column not in _DISTINCT_COLUMNS:
            raise ValueError(f"no distinct values for {column!r}")
        with self._reading("read") as conn:
            rows = conn.execute(
                f"SELECT DISTINCT {column} FROM daily WHERE {column} != '' ORDER BY 1"
            ).fetchall()
        return [str(row[0]) for row in rows]

    def spend(
        self, since: datetime, until: datetime | None = None, provider: str | None = None
    ) -> tuple[float, int]:
        """(known USD, total tokens) recorded in [since, until), for budgets."""
        total = self.grand_total(RowFilter(since=since, until=until, provider=provider))
        return total.known_cost_usd, total.total_tokens

    # --- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close idle connections; ones in use close when their user is done."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check(rec: CallRecord) -> None:
    if rec.status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {rec.status!r}")
    if not rec.provider:
        raise ValueError("a call record needs a provider")
