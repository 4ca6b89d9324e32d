"""Ollama through the ``ollama`` SDK: structured output with ``format=<JSON schema>``.

Two Ollama habits shape this module. It answers in ``num_ctx`` tokens of context
(a small default) and silently drops the *start* of a longer prompt, which is where
the instructions are, so we size ``num_ctx`` from the model's real context length
(``/api/show``) and compare the ``prompt_eval_count`` it reports with our estimate
to warn when the model saw less than we sent. And it reports token counts only in
the last chunk of a stream, leaving ``prompt_eval_count`` out when the prompt was
cached: then the count is unknown (None), never invented.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import ollama
from pydantic import BaseModel

from cvjd_desktop.errors import (
    AuthenticationError,
    CancelledError,
    ModelNotFoundError,
    ProviderError,
    ProviderRequestError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from cvjd_desktop.llm.base import ModelInfo, ProgressCallback, ProviderResult, estimate_tokens
from cvjd_desktop.llm.output import Answer, answer_with_repair, schema_instructions
from cvjd_desktop.llm.retry import (
    RetryableError,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)
from cvjd_desktop.llm.sdk_client import SdkClientOwner, scrub_detail
from cvjd_desktop.llm.streaming import StreamCancelled, TokenCounter, pump
from cvjd_desktop.schemas import TokenUsage, compact_json_schema

log = logging.getLogger(__name__)
T = TypeVar("T")

ANSWER_TOKENS = 4096
"""Room kept for the answer, and the cap on its length (``num_predict``): a runaway
model stops with done_reason "length" instead of generating until the timeout."""

MIN_NUM_CTX = 4096
TEMPLATE_OVERHEAD_TOKENS = 16
"""Role markers the chat template wraps around the messages."""


def choose_num_ctx(prompt_estimate: int, context_length: int | None) -> int:
    """Enough context for the prompt and the answer, capped at what the model has.

    Rounded up to a power of two: Ollama reloads the model whenever ``num_ctx``
    changes, so documents of similar size should ask for the same value.
    """
    wanted = prompt_estimate + ANSWER_TOKENS
    num_ctx = MIN_NUM_CTX
    while num_ctx < wanted:
        num_ctx *= 2
    if context_length:
        num_ctx = min(num_ctx, context_length)
    return num_ctx


def prompt_cut_warning(sent_estimate: int, reported: int | None, num_ctx: int) -> str | None:
    """A warning when Ollama evidently dropped the start of the prompt.

    Only when the prompt could not fit (our estimate is near or above ``num_ctx``):
    a low count on a prompt that fits means cached tokens, not a cut.
    """
    if reported is None or sent_estimate < num_ctx * 0.8:
        return None
    if reported >= sent_estimate * 0.75:
        return None
    return (
        f"the model saw only {reported} of about {sent_estimate} prompt tokens "
        f"(context {num_ctx}): Ollama dropped the start of the prompt, where the "
        "instructions are; use a model with a longer context or a shorter document"
    )


@dataclass
class _StreamState:
    parts: list[str] = field(default_factory=list)
    chunks: int = 0
    final: ollama.ChatResponse | None = None


class _StatusFailure(Exception):
    """An HTTP error from Ollama, with the response headers the SDK drops."""

    def __init__(self, error: ollama.ResponseError, headers: httpx.Headers | None) -> None:
        super().__init__(str(error))
        self.status = error.status_code
        self.error = str(error.error)
        self.headers = dict(headers or {})


class OllamaProvider(SdkClientOwner[ollama.Client]):
    """A local (or remote) Ollama server. Only talks to ``host``; sends no API key."""

    name = "ollama"

    def __init__(
        self,
        host: str,
        timeout: float,
        max_retries: int = 3,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.host = host.rstrip("/")
        self.base_url = self.host
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._tls = threading.local()
        self._client = ollama.Client(
            host=self.host,
            timeout=timeout,
            event_hooks={"response": [self._remember_headers]},
        )
        self._contexts: dict[str, int | None] = {}
        self._whole_answers = False
        """Set once the server answered a streamed chat with one plain JSON document."""
        self._lock = threading.Lock()

    def _remember_headers(self, response: httpx.Response) -> None:
        # The SDK turns HTTP errors into ResponseError without the headers; keep
        # them (per thread) so that a 429's retry-after can be honoured.
        self._tls.headers = response.headers

    # --- models ------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        listed = self._call(self._client.list, model=None)
        models = []
        for m in listed.models:
            if not m.model:
                continue
            details = m.details
            models.append(
                ModelInfo(
                    name=m.model,
                    size_bytes=int(m.size) if m.size is not None else None,
                    quantization=details.quantization_level if details else None,
                    parameter_size=details.parameter_size if details else None,
                    context_length=self._contexts.get(m.model),
                )
            )
        return models

    def context_length(self, model: str) -> int | None:
        """From ``/api/show``'s ``model_info["<family>.context_length"]``, cached.

        A server that cannot say (an older Ollama, a proxy or gateway without
        ``/api/show``, a model that is missing) is not an error here: the context is
        then unknown, and the chat request itself reports any real fault with its own
        message. Only faults that would sink the chat too (down, timed out, refused
        credentials, cancelled) are raised. No retries: this is a nicety.
        """
        with self._lock:
            if model in self._contexts:
                return self._contexts[model]
        try:
            shown = self._call(lambda: self._client.show(model), model=model, retry=False)
        except (
            ProviderUnavailableError,
            ProviderTimeoutError,
            AuthenticationError,
            CancelledError,
        ):
            raise
        except ProviderError as exc:
            log.info("no context length for %s from %s: %s", model, self.host, exc.message)
            shown = None
        length: int | None = None
        for key, value in ((shown.modelinfo if shown else None) or {}).items():
            if key.endswith(".context_length") and isinstance(value, int | float):
                length = int(value)
                break
        with self._lock:
            self._contexts[model] = length
        return length

    def _call(self, fn: Callable[[], T], *, model: str | None, retry: bool = True) -> T:
        """A plain (non-chat) request, with the same retries and error mapping."""

        def attempt() -> T:
            self._tls.headers = None
            try:
                return fn()
            except Exception as exc:
                raise self._translate(exc, model=model) from None

        policy = self.retry_policy if retry else RetryPolicy(max_retries=0)
        return call_with_retries(attempt, policy, what=f"the request to {self.host}")

    # --- extraction --------------------------------------------------------------------

    def extract(
        self,
        *,
        system: str,
        text: str,
        schema: type[BaseModel],
        model: str,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        instructions = schema_instructions(schema)
        system_full = f"{system}\n\n{instructions}" if system else instructions
        messages: list[dict[str, str]] = [
            {"role": "system", "content": system_full},
            {"role": "user", "content": text},
        ]
        sent_estimate = (
            estimate_tokens(system_full) + estimate_tokens(text) + TEMPLATE_OVERHEAD_TOKENS
        )
        num_ctx = choose_num_ctx(sent_estimate, self.context_length(model))
        options = {"temperature": 0, "num_ctx": num_ctx, "num_predict": ANSWER_TOKENS}
        fmt = compact_json_schema(schema)
        progress = TokenCounter(on_progress)

        warnings: list[str] = []

        def ask(conversation: list[dict[str, str]]) -> Answer:
            answer = self._chat(model, conversation, fmt, options, cancel, progress)
            if conversation is messages:
                cut = prompt_cut_warning(sent_estimate, answer.usage.prompt_tokens, num_ctx)
                if cut:
                    warnings.append(cut)
            return answer

        return answer_with_repair(ask, messages, schema, model=model, warnings=warnings)

    def _chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        fmt: dict[str, Any],
        options: dict[str, Any],
        cancel: threading.Event | None,
        progress: TokenCounter,
    ) -> Answer:
        return call_with_retries(
            lambda: self._chat_once(model, messages, fmt, options, cancel, progress),
            self.retry_policy,
            cancel=cancel,
            what=f"the request to Ollama at {self.host}",
        )

    def _chat_once(
        self,
        model: str,
        messages: list[dict[str, str]],
        fmt: dict[str, Any],
        options: dict[str, Any],
        cancel: threading.Event | None,
        progress: TokenCounter,
    ) -> Answer:
        state = _StreamState()

        whole = self._whole_answers

        def open_stream() -> Iterator[ollama.ChatResponse]:
            self._tls.headers = None
            try:
                if whole:
                    yield self._client.chat(
                        model=model, messages=messages, format=fmt, options=options, stream=False
                    )
                else:
                    yield from self._client.chat(
                        model=model, messages=messages, format=fmt, options=options, stream=True
                    )
            except ollama.ResponseError as exc:
                raise _StatusFailure(exc, self._tls.headers) from None

        def on_item(part: ollama.ChatResponse) -> None:
            content = part.message.content if part.message else None
            if content:
                state.parts.append(content)
                state.chunks += 1
                progress.tick()
            if part.done:
                state.final = part

        try:
            pump(open_stream, on_item, cancel=cancel, name="ollama-chat")
        except StreamCancelled:
            raise CancelledError(
                f"cancelled while waiting for Ollama at {self.host}", self._partial(state, model)
            ) from None
        except json.JSONDecodeError:
            if whole or state.chunks or state.final is not None:
                raise self._translate(
                    ValueError("not JSON"), model=model, usage=self._partial(state, model)
                ) from None
            # Not NDJSON from the first line: a gateway that ignores ``stream`` and sends
            # one (indented) JSON document. Ask again without streaming, and remember.
            self._whole_answers = True
            return self._chat_once(model, messages, fmt, options, cancel, progress)
        except Exception as exc:
            raise self._translate(
                exc, model=model, usage=self._partial(state, model), streamed=state.chunks > 0
            ) from None

        final = state.final
        if final is None:
            raise ProviderServerError(
                f"the answer from Ollama at {self.host} ended before its final chunk "
                "(the stream was cut); no token counts were reported",
                self._partial(state, model),
            )
        usage = TokenUsage(
            prompt_tokens=final.prompt_eval_count,
            completion_tokens=final.eval_count,
            model=final.model or model,
            provider=self.name,
        )
        return Answer("".join(state.parts), usage, final.done_reason)

    def _partial(self, state: _StreamState, model: str) -> TokenUsage:
        """Usage of an answer that never finished: zeros if nothing came, else unknown."""
        if state.chunks == 0 and state.final is None:
            return TokenUsage(model=model, provider=self.name)
        return TokenUsage(
            prompt_tokens=None, completion_tokens=None, model=model, provider=self.name
        )

    # --- errors ------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub_detail(text, os.environ.get("OLLAMA_API_KEY"))

    def _translate(
        self,
        exc: BaseException,
        *,
        model: str | None,
        usage: TokenUsage | None = None,
        streamed: bool = False,
    ) -> ProviderError | RetryableError:
        """Map whatever the SDK or httpx raised to our typed errors.

        ``streamed``: part of the answer had arrived before the failure.
        """
        host = self.host
        usage = usage or TokenUsage(model=model, provider=self.name)
        if isinstance(exc, ollama.ResponseError):
            exc = _StatusFailure(exc, getattr(self._tls, "headers", None))
        if isinstance(exc, _StatusFailure):
            return self._status_error(exc, model, usage)
        if isinstance(exc, httpx.ConnectTimeout):
            return ProviderUnavailableError(
                f"Ollama is not running at {host} (no connection within {self.timeout:g} s; "
                "start it with `ollama serve`)",
                usage,
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(
                f"Ollama at {host} timed out after {self.timeout:g} s without answering; "
                "a large model or document may need a longer timeout",
                usage,
            )
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.UnsupportedProtocol):
            return ProviderUnavailableError(
                f"Ollama is not running at {host} (start it with `ollama serve`)", usage
            )
        if isinstance(exc, httpx.TransportError):
            if streamed:
                return ProviderServerError(
                    f"the connection to Ollama at {host} was dropped in the middle of the "
                    "answer; no token counts were reported",
                    usage,
                )
            return ProviderServerError(
                f"Ollama at {host} closed the connection without answering", usage
            )
        if isinstance(exc, ValueError):
            return ProviderServerError(
                f"the server at {host} answered with something that is not Ollama's API "
                "(is another program using that address?)",
                usage,
            )
        log.exception("unexpected error from the Ollama SDK", exc_info=exc)
        return ProviderError(f"Ollama at {host} failed: {self._scrub(str(exc))}", usage)

    def _status_error(
        self, exc: _StatusFailure, model: str | None, usage: TokenUsage
    ) -> ProviderError | RetryableError:
        status, detail = exc.status, self._scrub(exc.error)
        host = self.host
        if status == 404 and model:
            return ModelNotFoundError(
                f"model {model} is not installed; run `ollama pull {model}`", usage
            )
        if status in (401, 403):
            return AuthenticationError(
                f"Ollama at {host} refused the request ({status}): {detail}", usage
            )
        if status == 429:
            return RetryableError(
                RateLimitedError(f"Ollama at {host} is rate-limiting requests (429)", usage),
                retry_after_seconds(exc.headers),
            )
        if status >= 500:
            return RetryableError(
                ProviderServerError(
                    f"Ollama at {host} had a server error ({status}): {detail}", usage
                ),
                retry_after_seconds(exc.headers),
            )
        if status < 0:  # an {"error": ...} line in the middle of a stream
            return ProviderServerError(f"Ollama reported an error mid-answer: {detail}", usage)
        return ProviderRequestError(
            f"Ollama at {host} refused the request ({status}): {detail}", usage
        )
