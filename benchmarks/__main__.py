"""Run the benchmark modules and print one table: figure, baseline, ratio, target.

``python -m benchmarks`` runs all ``benchmarks/bench_*.py`` and writes the table,
the machine it ran on and the explanation of every missed target to
``BENCHMARKS.md``; ``python -m benchmarks ledger`` (or ``--only ledger``) runs only
``bench_ledger`` and leaves ``BENCHMARKS.md`` alone unless ``--write`` is given;
``--json`` prints the rows as JSON instead of the table. Exits 1 when a row says its
target was missed (``ok`` is False) or a module failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS = ("name", "value", "unit", "baseline", "ratio", "target", "met", "note")
ROOT = Path(__file__).resolve().parent.parent
NOTES_START = "<!-- notes: kept from run to run; edit freely between these markers -->"
NOTES_END = "<!-- end of notes -->"


def discover() -> list[str]:
    """Module names ``bench_*`` in this package, sorted."""
    folder = Path(__file__).resolve().parent
    return sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if info.name.startswith("bench_")
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if value == 0 or 0.01 <= abs(value) < 1e6:
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [_fmt(row.get("ok") if col == "met" else row.get(col)) for col in COLUMNS] for row in rows
    ]


def table(rows: list[dict[str, Any]]) -> str:
    cells = [list(COLUMNS), *_cells(rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    numeric = {"value", "baseline", "ratio"}
    out = []
    for n, line in enumerate(cells):
        parts = [
            text.rjust(width) if COLUMNS[i] in numeric and n else text.ljust(width)
            for i, (text, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(parts).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# --- BENCHMARKS.md ----------------------------------------------------------------------


def markdown_table(rows: list[dict[str, Any]]) -> str:
    numeric = {"value", "baseline", "ratio"}
    head = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---:" if c in numeric else "---" for c in COLUMNS) + "|"
    body = []
    module = None
    for row, line in zip(rows, _cells(rows), strict=True):
        if row.get("module") != module:
            module = row.get("module")
            body.append(f"| **{module}** |" + " |" * (len(COLUMNS) - 1))
        body.append("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |")
    return "\n".join([head, rule, *body])


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _version(module: str) -> str:
    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, AttributeError):
        return "not installed"


def machine() -> list[tuple[str, str]]:
    """What the figures depend on, for the reader of BENCHMARKS.md."""
    import sqlite3

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    mem = next(
        (line.split()[1] for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line),
        None,
    )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        from PySide6 import QtCore

        pyside = getattr(QtCore, "__version__", "?")
        qt = f"PySide6 {pyside}, Qt {QtCore.qVersion()}"
    except ImportError:
        qt = "not installed"
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = (
        " (with uncommitted changes)"
        if _git("status", "--porcelain", "--untracked-files=no")
        else ""
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        ("CPU", f"{cpu}; {usable} cores usable ({os.cpu_count()} online)"),
        ("memory", f"{int(mem) / 1024**2:.1f} GiB" if mem else "?"),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Qt", qt),
        ("PyMuPDF", _version("pymupdf")),
        ("SQLite", sqlite3.sqlite_version),
        ("tokenizer", f"bpe-openai {_version('bpe_openai')}"),
        ("load average at the end", ", ".join(f"{x:.2f}" for x in load) if load else "?"),
        ("commit", f"{commit}{dirty}" if commit else "?"),
    ]


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def kept_notes(path: Path) -> str:
    """The hand-written notes of the previous BENCHMARKS.md, if any."""
    text = _read(str(path))
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0].strip("\n")
    return ""


def write_markdown(
    path: Path, rows: list[dict[str, Any]], timings: dict[str, float], total_s: float
) -> None:
    notes = kept_notes(path)
    missed = [r for r in rows if r.get("ok") is False]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks`); the figures are the last full "
        "run's. Each figure stands beside a baseline measured in the same run on the same "
        "machine, because the machine is shared and noisy: read the ratios. `met` says "
        "whether the figure meets its target; every `NO` is explained below the table.",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {total_s:.0f} s in all ("
        + ", ".join(f"{name.removeprefix('bench_')} {s:.0f} s" for name, s in timings.items())
        + ").",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in machine()],
        "",
        "## Figures",
        "",
        markdown_table(rows),
        "",
        "## Targets missed",
        "",
    ]
    if not missed:
        lines.append("None.")
    for row in missed:
        why = row.get("explain") or "not explained by the benchmark; see the notes below."
        lines.append(
            f"- **{row['name']}** ({_fmt(row.get('value'))} {row.get('unit', '')}, "
            f"target {row.get('target')}): {why}"
        )
    lines += [
        "",
        "## Notes",
        "",
        NOTES_START,
        notes,
        NOTES_END,
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


# --- running ----------------------------------------------------------------------------


def run_module(name: str) -> list[dict[str, Any]]:
    """The module's rows; a module that fails gives one failed row, the others still run."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        return [{"module": name, **row} for row in module.run()]
    except Exception as exc:
        traceback.print_exc()
        last = str(exc).strip().splitlines()[-1:] or [""]
        return [
            {
                "module": name,
                "name": f"{name} failed",
                "ok": False,
                "note": f"{type(exc).__name__}: {last[0][:200]}",
                "explain": "the benchmark itself failed; its traceback is in the run's output",
            }
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="modules to run: ledger or bench_ledger")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only NAME (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--write",
        action="store_true",
        help="write BENCHMARKS.md even when only some modules ran",
    )
    parser.add_argument("--no-write", action="store_true", help="never write BENCHMARKS.md")
    parser.add_argument(
        "--markdown", type=Path, default=ROOT / "BENCHMARKS.md", help="where to write the report"
    )
    args = parser.parse_args(argv)

    available = discover()
    names = [*args.names, *args.only]
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in names] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(available)})")

    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    began = time.perf_counter()
    for name in wanted:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += run_module(name)
        timings[name] = time.perf_counter() - started
        print(f"  {name} took {timings[name]:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - began
    print(f"all benchmarks took {total:.0f} s", file=sys.stderr)

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
    if (args.write or not names) and not args.no_write:
        write_markdown(args.markdown, rows, timings, total)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 1 if any(row.get("ok") is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
