"""Read a streamed answer so that cancelling takes effect within a fraction of a second.

A blocking socket read cannot be interrupted from another thread, and a server that
is still thinking sends nothing for minutes. So the SDK call and its iteration run
in a daemon thread that hands each chunk over a queue; the caller's thread waits on
that queue in short slices and checks the cancel event in between. On cancel the
caller leaves at once; the reader thread notices at its next chunk, closes the
stream and ends (at the latest when the request timeout fires).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


class TokenCounter:
    """Counts streamed content chunks (about one token each) across a call and its
    repair, and reports the running total to the progress callback."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self._callback = callback
        self.tokens = 0

    def tick(self) -> None:
        self.tokens += 1
        if self._callback is not None:
            self._callback(self.tokens)


class StreamCancelled(Exception):
    """The cancel event was set while the stream was open."""


class _Done:
    pass


_DONE = _Done()


def pump(
    open_stream: Callable[[], Iterable[T]],
    on_item: Callable[[T], None],
    *,
    cancel: threading.Event | None,
    name: str = "llm-stream",
) -> None:
    """Call ``open_stream()`` and feed each item to ``on_item`` in this thread.

    Exceptions from the SDK are re-raised here unchanged; ``StreamCancelled`` is
    raised once ``cancel`` is set.
    """
    if cancel is None:
        for item in open_stream():
            on_item(item)
        return

    if cancel.is_set():
        raise StreamCancelled
    handoff: queue.Queue[Any] = queue.Queue()
    abandoned = threading.Event()

    def read() -> None:
        stream: Iterable[T] | None = None
        try:
            stream = open_stream()
            for item in stream:
                if abandoned.is_set():
                    break
                handoff.put(item)
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            handoff.put(exc)
        finally:
            close = getattr(stream, "close", None)
            if abandoned.is_set() and callable(close):
                # Closing a half-read stream may complain; we are done with it anyway.
                with contextlib.suppress(Exception):
                    close()

    reader = threading.Thread(target=read, name=name, daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = handoff.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if cancel.is_set():
                    raise StreamCancelled from None
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            on_item(item)
            if cancel.is_set():
                raise StreamCancelled
    finally:
        abandoned.set()
