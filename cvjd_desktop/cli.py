"""The headless front door: ``cvjd extract | models | usage | budget``.

Same engine as the window, no Qt. Output contracts (JSON Lines for ``extract
--json``, the ``usage --json`` shape, exit codes 0/1/2) are in ARCHITECTURE.md and
are relied on by scripts, so they change only with it. Bad files and provider faults
are results, never tracebacks.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from cvjd_desktop import __version__, config
from cvjd_desktop.errors import CvjdError, ProviderError
from cvjd_desktop.schemas import ExtractionResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments: exit code 2 with a one-line message."""


class _OneLineFormatter(logging.Formatter):
    """``cvjd: message``: the engine's log lines on stderr, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        first = record.getMessage().splitlines()[0] if record.getMessage() else ""
        return f"cvjd: {first}"


_engine_warnings_shown = False
"""True once the engine's warnings reach stderr through our handler: then the CLI
does not repeat what the engine already said (a moved-aside ledger, say)."""


def _log_to_stderr() -> None:
    global _engine_warnings_shown
    root = logging.getLogger()
    if root.handlers:  # embedded (tests, scripts): their logging set-up wins
        _engine_warnings_shown = any(
            isinstance(h.formatter, _OneLineFormatter) for h in root.handlers
        )
        return
    _engine_warnings_shown = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr()
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        print(f"cvjd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CvjdError as exc:
        print(f"cvjd: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`cvjd ... | head`): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:
        # The environment failed: CVJD_HOME is a file, a read-only disk, a full one.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"cvjd: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cvjd: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvjd",
        description="Turn CVs and job descriptions into structured data with an LLM, "
        "and keep an honest account of the tokens and money it costs.",
    )
    parser.add_argument("--version", action="version", version=f"cvjd {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")

    ext = sub.add_parser("extract", help="extract fields from CVs and job descriptions")
    ext.add_argument("files", nargs="+", metavar="FILE", help="files or folders (recursive)")
    ext.add_argument("--kind", choices=("cv", "jd", "auto"), default="auto")
    _provider_args(ext)
    ext.add_argument("--model", help="model name (default: from settings)")
    ext.add_argument("--timeout", type=_positive_float, metavar="SECONDS")
    ext.add_argument("--jobs", type=_positive_int, metavar="N", help="files at once")
    ext.add_argument("--json", action="store_true", help="one JSON object per file per line")
    ext.set_defaults(handler=cmd_extract)

    mod = sub.add_parser("models", help="list the models a provider offers")
    _provider_args(mod)
    mod.add_argument("--timeout", type=_positive_float, metavar="SECONDS")
    mod.add_argument("--json", action="store_true")
    mod.set_defaults(handler=cmd_models)

    use = sub.add_parser("usage", help="tokens and cost from the usage ledger")
    use.add_argument("--by", choices=("model", "day", "provider"), default="model")
    use.add_argument(
        "--since", type=_date, metavar="DATE", help="YYYY-MM-DD (UTC) or ISO time, inclusive"
    )
    use.add_argument(
        "--until", type=_date, metavar="DATE", help="YYYY-MM-DD (UTC, the whole day) or ISO time"
    )
    fmt = use.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    use.set_defaults(handler=cmd_usage)

    bud = sub.add_parser("budget", help="show or set spending limits")
    bud_sub = bud.add_subparsers(metavar="ACTION")
    show = bud_sub.add_parser("show", help="limits and what is used of them")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_budget_show)
    bset = bud_sub.add_parser("set", help="set (or --clear) limits")
    bset.add_argument("--daily-usd", type=_non_negative_float, metavar="X")
    bset.add_argument("--monthly-usd", type=_non_negative_float, metavar="X")
    bset.add_argument("--daily-tokens", type=_non_negative_int, metavar="N")
    bset.add_argument("--monthly-tokens", type=_non_negative_int, metavar="N")
    bset.add_argument("--provider", choices=config.PROVIDERS, help="default: all providers")
    bset.add_argument("--clear", action="store_true", help="remove the limits of this scope")
    bset.set_defaults(handler=cmd_budget_set)
    bud.set_defaults(handler=lambda _a: _usage_error("budget needs an action: show or set"))
    return parser


def _provider_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=config.PROVIDERS, help="default: from settings")
    p.add_argument("--ollama-host", metavar="URL", help="default: $OLLAMA_HOST or settings")
    p.add_argument("--openai-base-url", metavar="URL", help="default: $OPENAI_BASE_URL")


def _usage_error(message: str) -> int:
    raise UsageError(message)


# --- argument types ------------------------------------------------------------------


MAX_TIMEOUT_S = 24 * 3600.0


def _finite(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"not a finite number: {value!r}")
    return number


def _positive_float(value: str) -> float:
    number = _finite(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {value!r}")
    if number > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"at most {MAX_TIMEOUT_S:g} seconds: {value!r}")
    return number


def _non_negative_float(value: str) -> float:
    number = _finite(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value!r}")
    return number


def _positive_int(value: str) -> int:
    number = _non_negative_int(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value!r}")
    return number


class _When(datetime):
    """A parsed ``--since``/``--until``; ``whole_day`` when only a date was given."""

    whole_day: bool = False


def _date(value: str) -> datetime:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO 8601 time (UTC unless it says)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD or an ISO 8601 time): {value!r}"
        ) from None
    when = _When.fromtimestamp(
        (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp(), UTC
    )
    when.whole_day = "T" not in value and " " not in value.strip()
    return when


# --- extract -------------------------------------------------------------------------


def _make_provider(args: argparse.Namespace, settings: config.Settings) -> Any:
    from cvjd_desktop.llm.factory import make_provider

    name = args.provider or settings.provider
    return make_provider(
        name,
        settings=settings,
        ollama_host=args.ollama_host,
        openai_base_url=args.openai_base_url,
        timeout=getattr(args, "timeout", None),
    )


def cmd_extract(args: argparse.Namespace) -> int:
    from cvjd_desktop import documents
    from cvjd_desktop.usage import Ledger

    settings = config.load_settings()
    _tell_recoveries()
    files = documents.iter_supported_files(args.files)
    if not files:
        raise UsageError("no supported files found in " + ", ".join(args.files))
    provider = _make_provider(args, settings)
    ledger = Ledger()
    _tell_ledger_recovery(ledger)
    try:
        return _extract_files(args, settings, files, provider, ledger)
    finally:
        ledger.close()
        provider.close()


def _extract_files(
    args: argparse.Namespace,
    settings: config.Settings,
    files: list[Path],
    provider: Any,
    ledger: Any,
) -> int:
    from cvjd_desktop import extraction
    from cvjd_desktop.usage import BudgetGuard

    try:
        model = args.model or settings.model_for(provider.name) or _first_model(provider)
    except ProviderError as exc:
        # No model to ask: every file fails with the provider's message, as results.
        results = [_provider_failure(path, args.kind, provider.name, exc) for path in files]
        _emit_all(results, args.json)
        return EXIT_FAILED
    budget = BudgetGuard(ledger, settings.budgets)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    jobs = args.jobs or settings.concurrency_for(provider.name)
    progress = _Progress(len(files)) if sys.stderr.isatty() and not args.json else None

    def run_one(path: Path) -> ExtractionResult:
        result = extraction.extract(
            path, args.kind, provider, model, ledger=ledger, budget=budget, max_bytes=max_bytes
        )
        if progress:
            progress.done(result)
        return result

    failed = False
    table = None if args.json else _ResultTable(sys.stdout)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cvjd-extract") as pool:
        for path, result in zip(files, pool.map(run_one, files), strict=True):
            result.file = str(path)
            failed |= result.status != "ok"
            if table:
                table.row(result)
            else:
                print(result.model_dump_json(), flush=True)
    if table:
        table.close()
    return EXIT_FAILED if failed else EXIT_OK


def _first_model(provider: Any) -> str:
    models = provider.list_models()
    if not models:
        raise ProviderError(
            f"{provider.name} offers no models"
            + ("; pull one with `ollama pull llama3.2`" if provider.name == "ollama" else "")
        )
    name: str = models[0].name
    return name


def _provider_failure(path: Path, kind: str, provider: str, exc: ProviderError) -> ExtractionResult:
    return ExtractionResult(
        file=str(path),
        kind="cv" if kind == "auto" else kind,  # type: ignore[arg-type]
        status="error",
        error=exc.message,
        error_kind=exc.kind,
        provider=provider,
    )


def _emit_all(results: list[ExtractionResult], as_json: bool) -> None:
    if as_json:
        for result in results:
            print(result.model_dump_json(), flush=True)
        return
    table = _ResultTable(sys.stdout)
    for result in results:
        table.row(result)
    table.close()


class _Progress:
    """``[3/10] cv.pdf ok`` on stderr, only when it is a terminal."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.lock = total, 0, threading.Lock()

    def done(self, result: ExtractionResult) -> None:
        with self.lock:
            self.count += 1
            print(
                f"\r\033[K[{self.count}/{self.total}] {result.file} {result.status}",
                end="" if self.count < self.total else "\n",
                file=sys.stderr,
                flush=True,
            )


class _ResultTable:
    """A readable summary, one line per file, and a total line."""

    def __init__(self, out: IO[str]) -> None:
        self.out, self.tokens, self.cost, self.unknown, self.n, self.failed = out, 0, 0.0, 0, 0, 0
        print(
            f"{'FILE':<40} {'KIND':<4} {'STATUS':<6} {'TOKENS':>9} {'COST':>10} {'TIME':>7}",
            file=out,
        )

    def row(self, r: ExtractionResult) -> None:
        self.n += 1
        self.failed += r.status != "ok"
        self.tokens += r.token_usage.total_tokens
        if r.cost_usd is None and r.token_usage.total_tokens:
            self.unknown += 1
        self.cost += r.cost_usd or 0.0
        cost = _cost(r.cost_usd, r.token_usage.total_tokens, r.price_source)
        print(
            f"{_clip(Path(r.file).name, 40):<40} {r.kind:<4} {r.status:<6} "
            f"{r.token_usage.total_tokens:>9,} {cost:>10} "
            f"{r.duration_ms / 1000:>6.1f}s",
            file=self.out,
        )
        if r.error:
            print(f"    error: {r.error}", file=self.out)
        for warning in r.warnings:
            print(f"    warning: {warning}", file=self.out)

    def close(self) -> None:
        unknown = f" (+{self.unknown} of unknown price)" if self.unknown else ""
        print(
            f"{self.n} files, {self.n - self.failed} ok, {self.failed} failed; "
            f"{self.tokens:,} tokens, ${self.cost:.4f}{unknown}",
            file=self.out,
        )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cost(usd: float | None, tokens: int, source: str | None = None) -> str:
    if source == "local":
        return "local"
    if usd is None:
        return "—" if tokens else "$0"
    return f"${usd:.4f}" if usd < 100 else f"${usd:,.2f}"


# --- models --------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    settings = config.load_settings()
    provider = _make_provider(args, settings)
    try:
        models = provider.list_models()
    except ProviderError as exc:
        print(f"cvjd: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        provider.close()
    if args.json:
        for m in models:
            print(
                json.dumps(
                    {
                        "provider": provider.name,
                        "model": m.name,
                        "size_bytes": m.size_bytes,
                        "quantization": m.quantization,
                        "parameter_size": m.parameter_size,
                        "context_length": m.context_length,
                    }
                )
            )
    else:
        for m in models:
            print(m.label)
    return EXIT_OK


# --- usage ---------------------------------------------------------------------------

USAGE_COLUMNS = (
    "calls",
    "succeeded",
    "failed",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "unknown_cost_calls",
)


def cmd_usage(args: argparse.Namespace) -> int:
    from cvjd_desktop.usage import Ledger, RowFilter

    since, until = args.since, args.until
    if since and until and until < since:
        raise UsageError("--until is before --since")
    ledger = Ledger()
    _tell_ledger_recovery(ledger)
    try:
        # A date given as --until includes that day: the range ends at the next midnight.
        if until is not None and getattr(until, "whole_day", False):
            until = until + timedelta(days=1)
        filters = RowFilter(since=since, until=until)
        rows = [t.to_dict(args.by) for t in ledger.totals(by=args.by, filters=filters)]
        total = ledger.grand_total(filters)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.csv:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=[args.by, *USAGE_COLUMNS], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    else:
        _print_usage_table(args.by, rows, total.to_dict(args.by) | {args.by: "TOTAL"})
    return EXIT_OK


def _print_usage_table(by: str, rows: list[dict[str, Any]], total: dict[str, Any]) -> None:
    if not rows:
        print("No calls recorded in this range.")
        return
    width = max(len(by), *(len(str(r[by])) for r in rows), 5)
    header = (
        f"{by.upper():<{width}} {'CALLS':>7} {'FAILED':>6} {'PROMPT':>12} "
        f"{'COMPLETION':>12} {'TOTAL':>12} {'COST':>11}"
    )
    print(header)
    for r in [*rows, total]:
        if r is total:
            print("-" * len(header))
        cost = r["cost_usd"]
        if cost is None:
            cost_text = f"—({r['unknown_cost_calls']})" if not r.get("known_cost_usd") else "—"
        else:
            cost_text = f"${cost:.4f}"
        print(
            f"{r[by]!s:<{width}} {r['calls']:>7,} {r['failed']:>6,} {r['prompt_tokens']:>12,} "
            f"{r['completion_tokens']:>12,} {r['total_tokens']:>12,} {cost_text:>11}"
        )


# --- budget --------------------------------------------------------------------------


def cmd_budget_show(args: argparse.Namespace) -> int:
    from cvjd_desktop.usage import Ledger, budget_status

    settings = config.load_settings()
    ledger = Ledger()
    try:
        status = budget_status(ledger, settings.budgets)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return EXIT_OK
    if not status:
        print("No budgets set. Set one with `cvjd budget set --daily-usd 1.00`.")
        return EXIT_OK
    for item in status:
        print(_describe_budget(item))
    return EXIT_OK


def _describe_budget(item: dict[str, Any]) -> str:
    scope = item.get("provider") or "all providers"
    unit = item.get("unit")
    limit, used = item.get("limit") or 0, item.get("used") or 0
    amounts = f"{_usd(used)} of {_usd(limit)}" if unit == "usd" else f"{used:,} of {limit:,} tokens"
    fraction = item.get("fraction") or 0.0
    return f"{item.get('period', '').capitalize():<8} {scope:<14} {amounts:<36} {fraction:>6.0%}"


def _usd(amount: float) -> str:
    """$1.50, $0.0123, $0.0001: enough digits that a small limit is not shown as $0.00."""
    if amount == 0 or amount >= 1:
        return f"${amount:,.2f}"
    text = f"{amount:.{max(2, 1 - math.floor(math.log10(amount)))}f}"
    while text.endswith("0") and len(text.split(".")[1]) > 2:
        text = text[:-1]
    return f"${text}"


def cmd_budget_set(args: argparse.Namespace) -> int:
    values: dict[tuple[str, str], float | int | None] = {
        ("daily", "usd"): args.daily_usd,
        ("monthly", "usd"): args.monthly_usd,
        ("daily", "tokens"): args.daily_tokens,
        ("monthly", "tokens"): args.monthly_tokens,
    }
    given = {key: value for key, value in values.items() if value is not None}
    if not given and not args.clear:
        raise UsageError("give at least one limit (--daily-usd, --monthly-usd, ...) or --clear")
    settings = config.load_settings()
    budgets = list(settings.budgets)
    scope = args.provider
    if args.clear:
        # --clear alone removes every limit of this scope; with limits, just those.
        periods = {period for period, _unit in given} or {"daily", "monthly"}
        units = {unit for _period, unit in given} or {"usd", "tokens"}
        budgets = [
            _without(b, units) if b.provider == scope and b.period in periods else b
            for b in budgets
        ]
    else:
        for (period, unit), value in given.items():
            existing = next(
                (b for b in budgets if b.provider == scope and b.period == period), None
            )
            if existing is None:
                existing = config.Budget(period=period, provider=scope)  # type: ignore[arg-type]
                budgets.append(existing)
            setattr(existing, unit, value)
    budgets = [b for b in budgets if b is not None and (b.usd is not None or b.tokens is not None)]
    config.save_settings(settings.model_copy(update={"budgets": budgets}))
    return cmd_budget_show(argparse.Namespace(json=False))


def _without(budget: config.Budget, units: set[str]) -> config.Budget:
    return budget.model_copy(update={unit: None for unit in units})


# --- messages ------------------------------------------------------------------------


def _tell_recoveries() -> None:
    for aside in config.last_settings_recovery:
        print(
            f"cvjd: the settings file was unreadable; it was moved to {aside}; defaults are used",
            file=sys.stderr,
        )
    config.last_settings_recovery.clear()


def _tell_ledger_recovery(ledger: Any) -> None:
    if getattr(ledger, "recovered_from", None) and not _engine_warnings_shown:
        print(
            f"cvjd: the usage ledger was damaged; it was moved to {ledger.recovered_from} "
            "and a fresh one was started",
            file=sys.stderr,
        )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
