"""Run the benchmark modules and print one table: figure, baseline, ratio, target.

``python -m benchmarks`` runs all ``benchmarks/bench_*.py``; ``python -m benchmarks
ledger`` only ``bench_ledger``; ``--json`` prints the rows as JSON instead. Exits 1
when a row says its target was missed (``ok`` is False).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

COLUMNS = ("name", "value", "unit", "baseline", "ratio", "target", "met", "note")


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


def table(rows: list[dict[str, Any]]) -> str:
    cells = [list(COLUMNS)] + [
        [_fmt(row.get("ok") if col == "met" else row.get(col)) for col in COLUMNS] for row in rows
    ]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="modules to run: ledger or bench_ledger")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)

    available = discover()
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in args.names] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(available)})")

    rows: list[dict[str, Any]] = []
    for name in wanted:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        for row in module.run():
            rows.append({"module": name, **row})
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
    return 1 if any(row.get("ok") is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
