"""OpenAI, or any OpenAI-compatible server, through the ``openai`` SDK.

Structured outputs (``response_format`` ``json_schema``, strict) where the server
supports them; many compatible servers (older vLLM, llama.cpp, LM Studio builds,
gateways) answer 400 to that, so we fall back to JSON mode with the schema in the
prompt and remember the fallback per server and model. Answers are streamed with
``stream_options.include_usage`` so progress and cancellation work while the usage
still arrives exactly, in the last chunk. The SDK's hidden retries are off: ours
are bounded, honour ``retry-after`` and are visible in the error message.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.completion_usage import CompletionUsage
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
from cvjd_desktop.llm.base import ModelInfo, ProgressCallback, ProviderResult
from cvjd_desktop.llm.output import (
    Answer,
    answer_with_repair,
    schema_instructions,
    strict_json_schema,
)
from cvjd_desktop.llm.retry import (
    RetryableError,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)
from cvjd_desktop.llm.sdk_client import SdkClientOwner, scrub_detail
from cvjd_desktop.llm.streaming import StreamCancelled, TokenCounter, pump
from cvjd_desktop.schemas import TokenUsage

log = logging.getLogger(__name__)
T = TypeVar("T")

OFFICIAL_HOST = "api.openai.com"

# Servers and models that rejected a feature once: not asked again this process.
_JSON_MODE_ONLY: set[tuple[str, str]] = set()
_NO_TEMPERATURE: set[tuple[str, str]] = set()
_NO_STREAMING: set[tuple[str, str]] = set()
_memory_lock = threading.Lock()
_MENTIONS_STREAM = re.compile(r"\bstream(_options)?\b")

_CHAT_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")
_NOT_CHAT = ("audio", "realtime", "tts", "transcribe", "image", "embedding", "search", "instruct")
_CONTEXT_BY_PREFIX = (
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gpt-3.5-turbo", 16_385),
)
_FIXED_TEMPERATURE = ("o1", "o3", "o4", "gpt-5")
"""Reasoning models accept only the default temperature: sending 0 is a 400."""


def forget_server_quirks() -> None:
    """Forget which servers rejected which features (tests; a changed server)."""
    with _memory_lock:
        _JSON_MODE_ONLY.clear()
        _NO_TEMPERATURE.clear()
        _NO_STREAMING.clear()


def is_chat_model(model_id: str) -> bool:
    """Whether an api.openai.com model id is one the chat completions API serves."""
    mid = model_id.lower()
    return mid.startswith(_CHAT_PREFIXES) and not any(word in mid for word in _NOT_CHAT)


def known_context_length(model_id: str) -> int | None:
    for prefix, length in _CONTEXT_BY_PREFIX:
        if model_id.startswith(prefix):
            return length
    return None


class _FeatureRejected(Exception):
    """The server refused ``json_schema``, ``temperature`` or streaming: retry without it.

    ``error`` is what the user sees if the request fails even without it.
    """

    def __init__(self, feature: str, error: ProviderRequestError) -> None:
        super().__init__(feature)
        self.feature = feature
        self.error = error


@dataclass
class _StreamState:
    parts: list[str]
    refusal: list[str]
    chunks: int = 0
    events: int = 0
    finish_reason: str | None = None
    model: str | None = None
    usage: CompletionUsage | None = None


class OpenAIProvider(SdkClientOwner[openai.OpenAI]):
    """api.openai.com or a compatible server at ``base_url`` (ending in ``/v1``)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float,
        max_retries: int = 3,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._api_key = api_key
        self.official = urlsplit(self.base_url).hostname == OFFICIAL_HOST
        # Compatible local servers often need no key, but the SDK insists on one.
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "no-key",
            timeout=timeout,
            max_retries=0,
        )

    # --- models ------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """All models of a compatible server; chat models only on api.openai.com."""
        self._require_key()
        ids = self._call(lambda: [m.id for m in self._client.models.list()], model=None)
        if self.official:
            ids = sorted(i for i in ids if is_chat_model(i))
        return [ModelInfo(name=i, context_length=known_context_length(i)) for i in ids]

    def context_length(self, model: str) -> int | None:
        """Known for OpenAI's own models; /v1/models does not say."""
        return known_context_length(model)

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
        self._require_key()
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        progress = TokenCounter(on_progress)
        warnings: list[str] = []
        no_usage = f"the server at {self.base_url} reported no token usage"

        def ask(conversation: list[dict[str, str]]) -> Answer:
            answer = self._complete(model, conversation, schema, cancel, progress)
            if answer.usage.prompt_tokens is None and no_usage not in warnings:
                warnings.append(no_usage)
            return answer

        return answer_with_repair(ask, messages, schema, model=model, warnings=warnings)

    def _complete(
        self,
        model: str,
        messages: list[dict[str, str]],
        schema: type[BaseModel],
        cancel: threading.Event | None,
        progress: TokenCounter,
    ) -> Answer:
        """One answer, switching features off when the server rejects them."""
        memo = (self.base_url, model)
        while True:
            with _memory_lock:
                json_mode = memo in _JSON_MODE_ONLY
                temperature = memo not in _NO_TEMPERATURE and not model.startswith(
                    _FIXED_TEMPERATURE
                )
                streaming = memo not in _NO_STREAMING
            request = self._request(model, messages, schema, json_mode, temperature, streaming)
            try:
                return call_with_retries(
                    functools.partial(self._stream_once, model, request, cancel, progress),
                    self.retry_policy,
                    cancel=cancel,
                    what=f"the request to {self.base_url}",
                )
            except _FeatureRejected as rejected:
                already_off = (
                    (rejected.feature == "json_schema" and json_mode)
                    or (rejected.feature == "temperature" and not temperature)
                    or (rejected.feature == "stream" and not streaming)
                )
                if already_off:
                    raise rejected.error from None
                log.info("%s %s rejected %s; retrying without", self.base_url, model, rejected)
                with _memory_lock:
                    {
                        "json_schema": _JSON_MODE_ONLY,
                        "temperature": _NO_TEMPERATURE,
                        "stream": _NO_STREAMING,
                    }[rejected.feature].add(memo)

    @staticmethod
    def _request(
        model: str,
        messages: list[dict[str, str]],
        schema: type[BaseModel],
        json_mode: bool,
        temperature: bool,
        streaming: bool = True,
    ) -> dict[str, Any]:
        if json_mode:
            messages = [dict(m) for m in messages]
            instructions = schema_instructions(schema)
            if messages and messages[0]["role"] == "system":
                messages[0]["content"] = f"{messages[0]['content']}\n\n{instructions}"
            else:
                messages.insert(0, {"role": "system", "content": instructions})
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__,
                    "schema": strict_json_schema(schema),
                    "strict": True,
                },
            }
        request: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "response_format": response_format,
        }
        if streaming:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        if temperature:
            request["temperature"] = 0
        return request

    def _stream_once(
        self,
        model: str,
        request: dict[str, Any],
        cancel: threading.Event | None,
        progress: TokenCounter,
    ) -> Answer:
        state = _StreamState(parts=[], refusal=[])

        def open_stream() -> Iterable[ChatCompletionChunk]:
            stream = self._client.chat.completions.create(**request)
            if isinstance(stream, ChatCompletion):  # asked without streaming
                return _chunks_from_completion(stream)
            response = getattr(stream, "response", None)  # the SDK's own httpx flavour
            if response is not None and _is_plain_json(response):
                return _chunks_from_plain_answer(response)
            return stream

        def on_item(chunk: ChatCompletionChunk) -> None:
            state.events += 1
            if chunk.model:
                state.model = chunk.model
            if chunk.usage is not None:
                state.usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    state.parts.append(delta.content)
                    state.chunks += 1
                    progress.tick()
                if delta.refusal:
                    state.refusal.append(delta.refusal)
                if choice.finish_reason:
                    state.finish_reason = choice.finish_reason

        try:
            pump(open_stream, on_item, cancel=cancel, name="openai-chat")
        except StreamCancelled:
            raise CancelledError(
                f"cancelled while waiting for {self.base_url}", self._usage(state, model)
            ) from None
        except _FeatureRejected:
            raise
        except Exception as exc:
            raise self._translate(
                exc, model=model, usage=self._usage(state, model), streamed=state.events > 0
            ) from None

        if state.events == 0:
            raise ProviderServerError(
                f"the server at {self.base_url} answered with something that is not the "
                "OpenAI API (check the base URL)",
                self._usage(state, model),
            )
        if state.finish_reason is None:
            raise ProviderServerError(
                f"the answer from {self.base_url} ended before it was complete (the stream "
                "was cut)",
                self._usage(state, model),
            )
        return Answer(
            content="".join(state.parts),
            usage=self._usage(state, model),
            finish_reason=state.finish_reason,
            refusal="".join(state.refusal) or None,
        )

    def _usage(self, state: _StreamState, model: str) -> TokenUsage:
        """The usage the server reported; unknown (None) if an answer came without it."""
        name = state.model or model
        u = state.usage
        if u is None:
            if state.events == 0:
                return TokenUsage(model=name, provider=self.name)
            return TokenUsage(
                prompt_tokens=None, completion_tokens=None, model=name, provider=self.name
            )
        prompt_details = u.prompt_tokens_details
        completion_details = u.completion_tokens_details
        return TokenUsage(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            total_tokens=u.total_tokens or 0,
            model=name,
            provider=self.name,
            cached_tokens=(prompt_details.cached_tokens or 0) if prompt_details else 0,
            reasoning_tokens=(completion_details.reasoning_tokens or 0)
            if completion_details
            else 0,
        )

    # --- plumbing ----------------------------------------------------------------------

    def _require_key(self) -> None:
        if self.official and not self._api_key:
            raise AuthenticationError(
                "no OpenAI API key: set OPENAI_API_KEY or save a key in Settings"
            )

    def _call(self, fn: Callable[[], T], *, model: str | None) -> T:
        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:
                raise self._translate(exc, model=model) from None

        return call_with_retries(attempt, self.retry_policy, what=f"the request to {self.base_url}")

    def _scrub(self, text: str) -> str:
        return scrub_detail(text, self._api_key)

    def _detail(self, exc: openai.APIStatusError) -> str:
        """The server's own message, without the key it may have echoed."""
        body = exc.body
        message: Any = None
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or body.get("detail")
        elif isinstance(body, str):
            message = body
        return self._scrub(str(message)) if message else f"HTTP {exc.status_code}"

    def _translate(
        self,
        exc: BaseException,
        *,
        model: str | None,
        usage: TokenUsage | None = None,
        streamed: bool = False,
    ) -> ProviderError | RetryableError | _FeatureRejected:
        base = self.base_url
        usage = usage or TokenUsage(model=model, provider=self.name)
        if isinstance(exc, openai.APITimeoutError):
            return ProviderTimeoutError(
                f"{base} timed out after {self.timeout:g} s without answering", usage
            )
        if isinstance(exc, openai.APIConnectionError):
            if streamed:
                return ProviderServerError(
                    f"the connection to {base} was dropped in the middle of the answer", usage
                )
            return ProviderUnavailableError(
                f"OpenAI is not reachable at {base} (check the address and your network "
                "connection)",
                usage,
            )
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, model, usage)
        if isinstance(exc, ValueError | openai.APIResponseValidationError):
            return ProviderServerError(
                f"the server at {base} answered with something that is not the OpenAI API "
                "(check the base URL)",
                usage,
            )
        log.exception("unexpected error from the OpenAI SDK", exc_info=exc)
        return ProviderError(f"the request to {base} failed: {self._scrub(str(exc))}", usage)

    def _status_error(
        self, exc: openai.APIStatusError, model: str | None, usage: TokenUsage
    ) -> ProviderError | RetryableError | _FeatureRejected:
        status, detail, base = exc.status_code, self._detail(exc), self.base_url
        code = str(getattr(exc, "code", None) or "")
        lowered = detail.lower()
        if status == 401:
            return AuthenticationError(
                f"{base} rejected the API key (401); check the key in Settings or OPENAI_API_KEY",
                usage,
            )
        if status == 403:
            return AuthenticationError(f"{base} refused access (403): {detail}", usage)
        if status == 404 and model and (code == "model_not_found" or "model" in lowered):
            return ModelNotFoundError(
                f"model {model} is not available to this key at {base}", usage
            )
        if status == 404:
            return ProviderRequestError(
                f"{base} has no such endpoint (404); check the base URL (it usually ends in /v1)",
                usage,
            )
        if status == 429:
            if code == "insufficient_quota" or "quota" in lowered:
                return RateLimitedError(
                    f"the quota of this key at {base} is used up (429); check billing", usage
                )
            return RetryableError(
                RateLimitedError(f"{base} rate-limited the request (429): {detail}", usage),
                retry_after_seconds(exc.response.headers),
            )
        if status >= 500:
            return RetryableError(
                ProviderServerError(f"{base} had a server error ({status}): {detail}", usage),
                retry_after_seconds(exc.response.headers),
            )
        refused = ProviderRequestError(f"{base} refused the request ({status}): {detail}", usage)
        if status in (400, 422):
            param = str(getattr(exc, "param", None) or "")
            if (
                "json_schema" in lowered
                or "response_format" in lowered
                or param == "response_format"
            ):
                return _FeatureRejected("json_schema", refused)
            if "temperature" in lowered or param == "temperature":
                return _FeatureRejected("temperature", refused)
            if _MENTIONS_STREAM.search(lowered) or param in ("stream", "stream_options"):
                return _FeatureRejected("stream", refused)
            if code == "context_length_exceeded" or "context length" in lowered:
                return ProviderRequestError(
                    f"the document is too long for model {model}'s context window: {detail}",
                    usage,
                )
        return refused


def _is_plain_json(response: Any) -> bool:
    content_type = response.headers.get("content-type", "")
    return "json" in content_type and "event-stream" not in content_type


def _chunks_from_plain_answer(response: Any) -> list[ChatCompletionChunk]:
    """One chunk from a compatible server that ignores ``stream`` and answers whole.

    Some gateways and small servers only implement the non-streaming form. Their
    answer is turned into a single final chunk (content, finish reason, usage), so
    it goes through the same checks as a stream. Anything that does not parse as a
    chat completion yields nothing, which the caller reports as "not the OpenAI API".
    """
    try:
        data = json.loads(response.read())
        # Small servers leave out what only bookkeeping needs; the answer and its
        # usage are what count (and what must reach the ledger).
        for key, default in (("id", ""), ("object", "chat.completion"), ("created", 0)):
            data.setdefault(key, default)
        data.setdefault("model", "")
        completion = ChatCompletion.model_validate(data)
    except Exception:  # a body that is not a chat completion, or one cut short
        return []
    return _chunks_from_completion(completion)


def _chunks_from_completion(completion: ChatCompletion) -> list[ChatCompletionChunk]:
    """A whole answer as the one final chunk the stream handling expects."""
    choices = [
        ChunkChoice(
            index=choice.index,
            delta=ChoiceDelta(
                role="assistant",
                content=choice.message.content,
                refusal=choice.message.refusal,
            ),
            finish_reason=choice.finish_reason,
        )
        for choice in completion.choices
    ]
    return [
        ChatCompletionChunk(
            id=completion.id,
            object="chat.completion.chunk",
            created=completion.created,
            model=completion.model,
            choices=choices,
            usage=completion.usage,
        )
    ]
