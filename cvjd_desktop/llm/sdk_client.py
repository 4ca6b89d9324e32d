"""What the two SDK-backed providers share: owning a pooled client, and tidy details.

Both SDK clients (``ollama.Client``, ``openai.OpenAI``) keep an httpx connection
pool open until closed. A provider is usually short-lived (one CLI run, one model
listing), so it closes the pool on ``close()``, at the end of a ``with`` block, and
as a last resort when it is garbage-collected.
"""

from __future__ import annotations

import contextlib
from typing import Generic, Protocol, Self, TypeVar

from cvjd_desktop.config import mask_secret

DETAIL_CHARS = 200
"""A server's error text is cut to this: some answer with a whole HTML page."""


class _Closeable(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closeable)


class SdkClientOwner(Generic[ClientT]):
    """Closes ``self._client`` (set by the subclass) however the provider is dropped."""

    _client: ClientT

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Callers that drop a provider without close() must not leak pooled sockets;
        # suppress also covers a constructor that failed before ``_client`` was set.
        with contextlib.suppress(Exception):
            self._client.close()


def scrub_detail(text: str, secret: str | None) -> str:
    """A server's error text fit for a message: no key, one line, not too long."""
    text = " ".join(mask_secret(str(text), secret).split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
