"""Batch throughput (issue 7, item 2): 100 files against a 300 ms server, 4 at a time.

The batch goes through the CLI's own front door (``cvjd extract --jobs N --json``,
called in-process in a child process with stdout captured), so the figure includes
walking the folder, reading every file, the budget check, the HTTP call, the JSON
answer's validation and the ledger commit with fsync. The fake Ollama runs in its
own process, as a real one would. Imports that happen once per process (PyMuPDF,
python-docx, the SDKs) are done before the clock starts: they are start-up cost,
measured by ``bench_startup``, not throughput.

Baselines: the ideal (files x latency / concurrency) and the same batch one at a time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._support import fake_ollama_process, make_batch, row, run_child

FILES = 100
LATENCY_S = 0.3
CONCURRENCY = 4
MODEL = "llama3.2:3b"


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cvjd-bench-batch-") as tmp:
        folder = Path(tmp) / "files"
        make_batch(folder, FILES)
        with fake_ollama_process(LATENCY_S) as url:
            four = _child(url, folder, CONCURRENCY, Path(tmp) / "home-4")
            one = _child(url, folder, 1, Path(tmp) / "home-1")
    ideal = FILES * LATENCY_S / CONCURRENCY
    ideal_one = FILES * LATENCY_S
    per_file_ms = (four["wall_s"] - ideal) / FILES * CONCURRENCY * 1000
    return [
        row(
            f"batch: {FILES} files, {CONCURRENCY} at a time",
            four["wall_s"],
            "s",
            ideal,
            1.15,
            f"{four['ok']} ok; {LATENCY_S * 1000:.0f} ms server; baseline: the ideal "
            f"{FILES} x {LATENCY_S} s / {CONCURRENCY}; overhead {per_file_ms:.0f} ms per file "
            "per worker",
            target_on_ratio=True,
            explain=(
                "Each worker spends the overhead above on its own work between answers "
                "(reading the file, validating the answer, the fsync'd ledger commit); on 2 "
                "shared cores 4 workers and the fake server queue for the CPU and the GIL."
            ),
        ),
        row(
            f"batch: {FILES} files, 1 at a time",
            one["wall_s"],
            "s",
            ideal_one,
            None,
            f"{one['ok']} ok; baseline: the ideal {FILES} x {LATENCY_S} s",
        ),
        row(
            f"batch: speed-up of {CONCURRENCY} workers over 1",
            one["wall_s"] / four["wall_s"],
            "x",
            float(CONCURRENCY),
            None,
            f"baseline: the perfect {CONCURRENCY}x",
            lower_is_better=False,
        ),
    ]


def _child(url: str, folder: Path, jobs: int, home: Path) -> dict[str, Any]:
    args = [url, str(folder), str(jobs)]
    return run_child("benchmarks.bench_batch", args, home, "batch child")


def _warm_imports(folder: Path) -> None:
    """Load what the first file of each type would load, outside the timed part."""
    from cvjd_desktop import cli, documents, extraction  # noqa: F401
    from cvjd_desktop.llm import factory, ollama_provider  # noqa: F401

    seen: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix not in seen:
            seen.add(path.suffix)
            documents.read_document(path)


def main(argv: list[str]) -> int:
    url, folder, jobs = argv[0], Path(argv[1]), int(argv[2])
    _warm_imports(folder)
    from cvjd_desktop import cli

    out = io.StringIO()
    args = ["extract", "--provider", "ollama", "--model", MODEL, "--ollama-host", url]
    args += ["--json", "--jobs", str(jobs), "--kind", "cv", str(folder)]
    began = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli.main(args)
    wall = time.perf_counter() - began
    results = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    ok = sum(1 for r in results if r.get("status") == "ok")
    print(json.dumps({"wall_s": wall, "ok": ok, "files": len(results), "exit": code}), flush=True)
    sys.stderr.flush()
    os._exit(0)  # see bench_gui: finalization with PyMuPDF loaded can abort


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
