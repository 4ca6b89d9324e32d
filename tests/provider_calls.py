"""What the provider tests share: fast retries, a default extraction call, a dead port."""

from __future__ import annotations

import socket
from typing import Any

from cvjd_desktop.llm.base import Provider, ProviderResult
from cvjd_desktop.llm.retry import RetryPolicy
from cvjd_desktop.schemas import CV

FAST_RETRIES = RetryPolicy(max_retries=3, base_delay=0.01)
"""The production policy's shape with waits short enough for tests."""


def extract(p: Provider, model: str, **kw: Any) -> ProviderResult:
    """``p.extract`` for a one-line CV; ``kw`` overrides any argument."""
    args: dict[str, Any] = {
        "system": "Extract the CV.",
        "text": "Ada Lovelace, mathematician.",
        "schema": CV,
        "model": model,
    }
    args.update(kw)
    return p.extract(**args)


def unused_port() -> int:
    """A local port nobody listens on: bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
