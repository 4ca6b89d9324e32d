"""Write the filtered ledger rows to CSV, a page at a time (no Qt: runs on a worker).

The export streams pages from ``Ledger.query_rows`` so a million rows never sit in
memory, writes to a temporary file and renames it at the end so a cancelled or
failed export leaves no half file, and masks the API key out of error texts in
case a provider ever echoed it back. Columns are the ledger's, times in ISO 8601
UTC, an unknown cost as an empty cell (not 0).
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cvjd_desktop.config import mask_secret
from cvjd_desktop.usage.records import to_utc

if TYPE_CHECKING:
    from cvjd_desktop.usage import CallRecord, Ledger, RowFilter

CSV_COLUMNS = (
    "id",
    "ts",
    "provider",
    "model",
    "kind",
    "status",
    "file_name",
    "file_path",
    "file_sha256",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "price_source",
    "error_kind",
    "error",
    "duration_ms",
)


class ExportCancelled(Exception):
    """The user stopped the export; nothing was written."""


def csv_row(record: CallRecord, secret: str | None = None) -> list[str]:
    """One record as CSV cells: what the file holds and the tests compare against."""
    cells: list[str] = []
    for name in CSV_COLUMNS:
        value = getattr(record, name)
        if name == "ts":
            cells.append(to_utc(value).isoformat(timespec="milliseconds"))
        elif value is None:
            cells.append("")
        elif name == "error":
            cells.append(mask_secret(str(value), secret))
        else:
            cells.append(str(value))
    return cells


def export_csv(
    ledger: Ledger,
    filters: RowFilter,
    path: Path,
    *,
    order_by: str = "ts",
    descending: bool = True,
    page_size: int = 5000,
    secret: str | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every row matching ``filters`` to ``path``; returns how many.

    Raises:
        ExportCancelled: ``cancel`` was set; ``path`` is untouched.
        OSError: the file could not be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    written = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            while True:
                if cancel is not None and cancel.is_set():
                    raise ExportCancelled("export cancelled")
                page = ledger.query_rows(
                    filters,
                    offset=written,
                    limit=page_size,
                    order_by=order_by,
                    descending=descending,
                )
                writer.writerows(csv_row(record, secret) for record in page)
                written += len(page)
                if progress is not None:
                    progress(written)
                if len(page) < page_size:
                    break
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
