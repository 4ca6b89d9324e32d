"""The machinery both fake servers share: a threaded HTTP server, a request log,
a fault queue and the low-level ways of answering (JSON, chunked streams, dropped
connections, hangs).

Real sockets and real HTTP/1.1 (keep-alive, chunked transfer encoding) so the SDKs
meet the same transport behaviour as against the real services.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it. Header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw: bytes

    def text(self) -> str:
        """Everything that travelled (headers and body), for "is X anywhere?" checks."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}?{self.query}\n{head}\n\n" + self.raw.decode(
            "utf-8", "replace"
        )


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour for one upcoming call; build with the class methods."""

    kind: str
    code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    text: str | None = None

    @classmethod
    def status(
        cls, code: int, *, headers: Mapping[str, str] | None = None, body: Any = None
    ) -> Fault:
        """Answer ``code``; ``body`` None means the real service's error body for it."""
        return cls("status", code=code, headers=dict(headers or {}), body=body)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls.status(401)

    @classmethod
    def model_not_found(cls) -> Fault:
        return cls.status(404)

    @classmethod
    def rate_limited(cls, retry_after: str | None = "0") -> Fault:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return cls.status(429, headers=headers)

    @classmethod
    def server_error(cls, code: int = 500) -> Fault:
        return cls.status(code)

    @classmethod
    def not_json_body(cls) -> Fault:
        """HTTP 200 whose body is HTML, as from a misconfigured proxy."""
        return cls("not_json_body")

    @classmethod
    def content(cls, text: str) -> Fault:
        """A normal, successful answer whose message content is ``text``."""
        return cls("content", text=text)

    @classmethod
    def not_json_content(cls) -> Fault:
        """The model answered prose instead of JSON."""
        return cls("not_json_content")

    @classmethod
    def wrong_schema(cls) -> Fault:
        """Valid JSON that does not match the requested schema."""
        return cls("wrong_schema")

    @classmethod
    def truncated(cls) -> Fault:
        """Output cut by the length limit: half a JSON document, reason "length"."""
        return cls("truncated")

    @classmethod
    def drop_midway(cls) -> Fault:
        """Headers and part of the body sent, then the connection is closed."""
        return cls("drop_midway")

    @classmethod
    def hang(cls) -> Fault:
        """Accept, read the request, never answer (until release() or stop())."""
        return cls("hang")

    @classmethod
    def no_prompt_count(cls) -> Fault:
        """Ollama: final chunk without prompt_eval_count; OpenAI: no ``usage`` at all."""
        return cls("no_prompt_count")

    @classmethod
    def stream_cut(cls) -> Fault:
        """A stream that ends cleanly but before its final chunk."""
        return cls("stream_cut")

    @classmethod
    def echo_key(cls, code: int = 401) -> Fault:
        """An error body that repeats the Authorization header it received."""
        return cls("echo_key", code=code)

    @classmethod
    def refusal(cls, text: str = "I'm sorry, I can't help with that.") -> Fault:
        """OpenAI: the model refuses (``refusal`` set, no content)."""
        return cls("refusal", text=text)

    @classmethod
    def error_in_stream(
        cls, message: str = "an error was encountered while running the model"
    ) -> Fault:
        """Ollama: a ``{"error": ...}`` line in the middle of a 200 stream."""
        return cls("error_in_stream", text=message)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that cancel or time out hang up on us; that is the point of
        # many tests, not an error worth a traceback on stderr.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body then waits
    # for the client's delayed ACK (40 ms a request on Linux). Real servers (Go's
    # net/http under Ollama, uvicorn) set TCP_NODELAY, so the fake does too.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        parts = urlsplit(self.path)
        rec = Recorded(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        fake = self.server.fake
        fake._record(rec)
        try:
            fake._handle(Responder(self, fake), rec)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True


class Responder:
    """The ways a fake can answer one request."""

    def __init__(self, handler: _Handler, fake: FakeServer) -> None:
        self._h = handler
        self._fake = fake

    def json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        self.raw(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers)

    def raw(
        self,
        status: int,
        data: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def stream(self, content_type: str, pieces: Iterable[bytes], *, cut: bool = False) -> None:
        """Send ``pieces`` as HTTP chunks, ``chunk_delay`` apart.

        ``cut`` closes the socket after the pieces without the terminating chunk:
        the connection dropped mid-response.
        """
        h = self._h
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        if cut:
            h.send_header("Connection", "close")
        h.end_headers()
        for i, piece in enumerate(pieces):
            if i and self._fake.chunk_delay and self._fake._stopping.wait(self._fake.chunk_delay):
                cut = True
                break
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        if cut:
            self.drop()
            return
        h.wfile.write(b"0\r\n\r\n")

    def truncated_body(self, status: int, data: bytes, content_type: str) -> None:
        """Promise ``len(data)`` bytes, send half, hang up."""
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data[: len(data) // 2])
        self.drop()

    def drop(self) -> None:
        h = self._h
        h.close_connection = True
        try:
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self) -> bool:
        """Block until release() (True: go on and answer) or stop / client gone (False)."""
        fake = self._fake
        sock = self._h.connection
        while not fake._stopping.is_set():
            if fake._released.wait(0.05):
                if not fake._stopping.is_set():
                    return True
                break
            try:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                    break  # the client hung up
            except OSError:
                break
        self.drop()
        return False

    def wait_latency(self) -> bool:
        """Sleep ``latency`` seconds; False when the server is stopping meanwhile."""
        latency = self._fake.latency
        return not (latency and self._fake._stopping.wait(latency))


def split_text(text: str, pieces: int) -> Iterator[str]:
    """``text`` in about ``pieces`` consecutive parts (each a "token" on the stream)."""
    pieces = max(1, pieces)
    step = max(1, -(-len(text) // pieces))
    for i in range(0, len(text), step):
        yield text[i : i + step]


class FakeServer:
    """Base of FakeOllama and FakeOpenAI: lifecycle, request log, fault queue.

    Subclasses implement ``_handle(responder, recorded)``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        stream_pieces: int = 8,
        prompt_tokens: int = 812,
        completion_tokens: int = 164,
        reported_model: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.stream_pieces = stream_pieces
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.reported_model = reported_model
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._stopping = threading.Event()
        self._released = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeServer:
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are let go, so this never blocks long."""
        self._stopping.set()
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (FakeOpenAI.base_url adds ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    # --- scripting -----------------------------------------------------------------

    def enqueue(self, *faults: Fault, times: int = 1, on: str = "chat") -> None:
        """Make the next calls to endpoint ``on`` misbehave, in order.

        ``on`` is "chat" (the default) or another endpoint key of the subclass
        ("tags", "show", "version" for Ollama; "models" for OpenAI). Each fault
        is used ``times`` times; calls after the queue is empty behave normally.
        """
        with self._lock:
            queue = self._faults.setdefault(on, deque())
            for fault in faults:
                queue.extend([fault] * times)

    def pending_faults(self, on: str = "chat") -> int:
        with self._lock:
            return len(self._faults.get(on, ()))

    def release(self) -> None:
        """Let every hanging request (Fault.hang) go on and answer normally."""
        self._released.set()

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()
        self._released.clear()

    def _next_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    # --- the request log ---------------------------------------------------------------

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self._requests.append(rec)

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def chat_requests(self) -> list[Recorded]:
        raise NotImplementedError

    def _handle(self, out: Responder, rec: Recorded) -> None:
        raise NotImplementedError


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
