"""Bounded, visible retries for rate limits and server errors.

The SDKs' own hidden retries are switched off (``max_retries=0``) so that the number
of attempts and the waits are ours: capped, cancellable, honouring the server's
``retry-after``, and counted in the message when we give up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from cvjd_desktop.errors import CancelledError, ProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts."""

    max_retries: int = 3
    base_delay: float = 0.5
    """First wait when the server gives no ``retry-after``; doubles each retry."""
    max_delay: float = 30.0
    """Cap on any single wait, ``retry-after`` included: a desktop app must not stall."""

    def delay(self, retry: int, retry_after: float | None) -> float:
        wanted = retry_after if retry_after is not None else self.base_delay * (2**retry)
        return max(0.0, min(wanted, self.max_delay))


class RetryableError(Exception):
    """Raised by one attempt: ``error`` is what the caller sees if we give up."""

    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, ``retry-after`` in
    seconds (fractions allowed) or as an HTTP date; None when absent or unreadable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    cancel: threading.Event | None = None,
    what: str = "the request",
) -> T:
    """Run ``attempt`` until it returns, retrying ``RetryableError`` up to the policy.

    Waits are interruptible by ``cancel``. When retries run out, the last error is
    raised with the number of attempts added to its message.
    """
    waiter = cancel if cancel is not None else threading.Event()
    retry = 0
    while True:
        try:
            return attempt()
        except RetryableError as exc:
            if retry >= policy.max_retries:
                err = exc.error
                attempts = retry + 1
                suffix = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
                raise type(err)(err.message + suffix, err.usage) from None
            if waiter.wait(policy.delay(retry, exc.retry_after)):
                raise CancelledError(f"{what} was cancelled", exc.error.usage) from None
            retry += 1
