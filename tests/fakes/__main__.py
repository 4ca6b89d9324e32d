"""``python -m tests.fakes ollama|openai [options]``: serve a fake by hand."""

from __future__ import annotations

import sys


def main() -> None:
    usage = "usage: python -m tests.fakes {ollama,openai} [--port N] [--latency S] ..."
    if len(sys.argv) < 2 or sys.argv[1] not in ("ollama", "openai"):
        print(usage, file=sys.stderr)
        raise SystemExit(2)
    which, rest = sys.argv[1], sys.argv[2:]
    if which == "ollama":
        from tests.fakes.ollama_server import main as run
    else:
        from tests.fakes.openai_server import main as run
    run(rest)


if __name__ == "__main__":
    main()
