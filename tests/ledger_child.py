"""Records calls in a loop and prints each row id once ``record`` has returned.

Run by ``test_ledger.test_rows_reported_committed_survive_sigkill``, which kills this
process with SIGKILL mid-loop: every id printed here must be in the ledger afterwards.
Usage: ``python tests/ledger_child.py LEDGER_PATH [THREADS]``; with THREADS > 1 that
many worker threads record at once, as the window's workers do.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from cvjd_desktop.usage import CallRecord, Ledger

MAX_ROWS = 200_000  # a bound, so an orphaned child stops on its own


def record_loop(ledger: Ledger, worker: int, lock: threading.Lock) -> None:
    for i in range(MAX_ROWS):
        row_id = ledger.record(
            CallRecord(
                provider="openai",
                model="gpt-4o-mini",
                status="ok" if i % 3 else "error",
                prompt_tokens=100 + i,
                completion_tokens=10,
                total_tokens=110 + i,
                cost_usd=0.0001,
                price_source="genai-prices",
                kind="cv",
                file_name=f"child-{worker}-{i}.pdf",
            )
        )
        with lock:  # whole lines only, so the parent never reads half an id
            print(row_id, flush=True)


def main() -> None:
    ledger = Ledger(Path(sys.argv[1]))
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    lock = threading.Lock()
    workers = [
        threading.Thread(target=record_loop, args=(ledger, n, lock), daemon=True)
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
