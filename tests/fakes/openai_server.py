"""A server that speaks the OpenAI Chat Completions API closely enough for the SDK.

Shapes follow the SDK's ``openai/types/chat/chat_completion*.py`` and the API
reference: SSE streams of ``chat.completion.chunk`` objects ending ``data: [DONE]``,
a last chunk with empty ``choices`` and the ``usage`` when
``stream_options.include_usage`` is set, errors as
``{"error": {"message", "type", "param", "code"}}``. Run it by hand:

    python -m tests.fakes openai --port 8000 --latency 0.3
    # then use --openai-base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from tests.fakes.base import FakeServer, Fault, Recorded, Responder, split_text
from tests.fakes.sample_answers import (
    NOT_JSON_CONTENT,
    answer_for,
    detect_kind,
    wrong_answer_for,
)

DEFAULT_OPENAI_MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "gpt-4o",
    "o3-mini",
    "text-embedding-3-small",
    "whisper-1",
    "dall-e-3",
)

CREATED = 1_736_900_000

FAKE_OPENAI_KEY = "sk-test-cvjd-0123456789abcdef"
"""The key the ``fake_openai`` fixture requires; long enough for mask_secret."""


def _mask(key: str) -> str:
    """How OpenAI's 401 shows a wrong key: ``sk-abc***********wxyz``."""
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "***"


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeOpenAI(FakeServer):
    """OpenAI (or a compatible server) on 127.0.0.1: /v1/models, /v1/chat/completions.

    ``api_key`` set: requests without ``Authorization: Bearer <api_key>`` get the
    real 401. ``supports_json_schema=False`` answers a ``json_schema`` response
    format with a 400, as many OpenAI-compatible servers do; ``json_object`` works.
    """

    def __init__(
        self,
        *,
        models: Sequence[str] | None = None,
        api_key: str | None = None,
        supports_json_schema: bool = True,
        strict_models: bool = True,
        cached_tokens: int = 128,
        reasoning_tokens: int = 32,
        system_fingerprint: str | None = "fp_fake0001",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.models: list[str] = list(models if models is not None else DEFAULT_OPENAI_MODELS)
        self.api_key = api_key
        self.supports_json_schema = supports_json_schema
        self.strict_models = strict_models
        self.cached_tokens = cached_tokens
        self.reasoning_tokens = reasoning_tokens
        self.system_fingerprint = system_fingerprint

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    @property
    def base_url(self) -> str:
        """What to give the SDK as ``base_url``."""
        return f"{self.url}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return self.requests_to("/v1/chat/completions")

    def usage(self) -> dict[str, Any]:
        """The ``usage`` object every successful answer carries."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    # --- routing ---------------------------------------------------------------------

    def _handle(self, out: Responder, rec: Recorded) -> None:
        path = rec.path
        if rec.method == "POST" and path == "/v1/chat/completions":
            self._chat(out, rec)
        elif rec.method == "GET" and path == "/v1/models":
            if self._auth_failed(out, rec) or self._simple_fault(out, rec, "models"):
                return
            data = [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "system"}
                for m in self.models
            ]
            out.json(200, {"object": "list", "data": data})
        elif rec.method == "GET" and path.startswith("/v1/models/"):
            name = path.removeprefix("/v1/models/")
            if name in self.models:
                out.json(
                    200, {"id": name, "object": "model", "created": CREATED, "owned_by": "system"}
                )
            else:
                out.json(404, self._not_found(name))
        else:
            out.json(
                404,
                error_body(f"Invalid URL ({rec.method} {path})", "invalid_request_error"),
            )

    @staticmethod
    def _not_found(model: str) -> dict[str, Any]:
        return error_body(
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    def _auth_failed(self, out: Responder, rec: Recorded) -> bool:
        if self.api_key is None:
            return False
        auth = rec.headers.get("authorization", "")
        if auth == f"Bearer {self.api_key}":
            return False
        if not auth:
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            message = (
                f"Incorrect API key provided: {_mask(auth.removeprefix('Bearer '))}. You can "
                "find your API key at https://platform.openai.com/account/api-keys."
            )
        out.json(401, error_body(message, "invalid_request_error", "invalid_api_key"))
        return True

    def _error(self, out: Responder, rec: Recorded, fault: Fault) -> None:
        headers = {"x-request-id": "req_fake", **fault.headers}
        if fault.body is not None:
            if isinstance(fault.body, bytes | str):
                data = fault.body.encode() if isinstance(fault.body, str) else fault.body
                out.raw(fault.code, data, "application/json", headers)
            else:
                out.json(fault.code, fault.body, headers)
            return
        body = rec.body if isinstance(rec.body, dict) else {}
        model = str(body.get("model", ""))
        code = fault.code
        if code == 401:
            payload = error_body(
                "Incorrect API key provided: sk-wro*****************ong. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        elif code == 404:
            payload = self._not_found(model)
        elif code == 429:
            payload = error_body(
                f"Rate limit reached for {model} in organization org-fake on requests per "
                "min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
                "https://platform.openai.com/account/rate-limits to learn more.",
                "requests",
                "rate_limit_exceeded",
            )
        elif code == 500:
            payload = error_body(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            )
        elif code == 503:
            payload = error_body(
                "The engine is currently overloaded, please try again later.", "server_error"
            )
        else:
            payload = error_body(HTTPStatus(code).phrase, "invalid_request_error")
        out.json(code, payload, headers)

    def _echo_key(self, out: Responder, rec: Recorded, code: int) -> None:
        key = rec.headers.get("authorization", "").removeprefix("Bearer ")
        out.json(
            code,
            error_body(
                f"Incorrect API key provided: {key}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )

    def _simple_fault(self, out: Responder, rec: Recorded, endpoint: str) -> bool:
        fault = self._next_fault(endpoint)
        if fault is None:
            return False
        if fault.kind == "hang":
            return not out.hang()
        if fault.kind == "status":
            self._error(out, rec, fault)
        elif fault.kind == "echo_key":
            self._echo_key(out, rec, fault.code)
        elif fault.kind == "not_json_body":
            out.raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif fault.kind == "drop_midway":
            out.truncated_body(200, b'{"object": "list", "data": []}', "application/json")
        else:
            return False
        return True

    # --- chat ------------------------------------------------------------------------

    def _chat(self, out: Responder, rec: Recorded) -> None:
        fault = self._next_fault("chat")
        body = rec.body if isinstance(rec.body, dict) else {}
        if fault is not None and fault.kind == "hang":
            if not out.hang():
                return
            fault = None
        if not out.wait_latency():
            out.drop()
            return
        if fault is not None and fault.kind == "echo_key":
            self._echo_key(out, rec, fault.code)
            return
        if self._auth_failed(out, rec):
            return
        if fault is not None and fault.kind == "status":
            self._error(out, rec, fault)
            return
        requested = str(body.get("model", ""))
        if self.strict_models and requested not in self.models:
            out.json(404, self._not_found(requested), {"x-request-id": "req_fake"})
            return
        response_format = body.get("response_format")
        if (
            not self.supports_json_schema
            and isinstance(response_format, dict)
            and response_format.get("type") == "json_schema"
        ):
            out.json(
                400,
                error_body(
                    "response_format.type 'json_schema' is not supported by this server; "
                    "use 'json_object' or 'text'",
                    "invalid_request_error",
                    None,
                    "response_format",
                ),
            )
            return
        if fault is not None and fault.kind == "not_json_body":
            out.raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return

        kind = detect_kind(response_format, body.get("messages"))
        content = json.dumps(answer_for(kind))
        finish_reason = "stop"
        kind_of_fault = fault.kind if fault is not None else None
        if kind_of_fault == "content" and fault is not None:
            content = fault.text or ""
        elif kind_of_fault == "not_json_content":
            content = NOT_JSON_CONTENT
        elif kind_of_fault == "wrong_schema":
            content = json.dumps(wrong_answer_for(kind))
        elif kind_of_fault == "truncated":
            content = content[: len(content) // 2]
            finish_reason = "length"
        refusal = fault.text if fault is not None and kind_of_fault == "refusal" else None
        if refusal is not None:
            content = ""

        model_name = self.reported_model or requested or "unknown"
        usage = None if kind_of_fault == "no_prompt_count" else self.usage()
        common = {
            "id": "chatcmpl-fake0001",
            "created": CREATED,
            "model": model_name,
            "system_fingerprint": self.system_fingerprint,
        }

        if not body.get("stream"):
            completion = {
                **common,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content or None,
                            "refusal": refusal,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": usage,
                "service_tier": "default",
            }
            if kind_of_fault in ("drop_midway", "stream_cut"):
                out.truncated_body(200, json.dumps(completion).encode(), "application/json")
            else:
                out.json(200, completion, {"x-request-id": "req_fake"})
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            c: dict[str, Any] = {
                **common,
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                c["usage"] = None
            return c

        events: list[Any] = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
        events += [
            chunk({"content": piece}, None) for piece in split_text(content, self.stream_pieces)
        ]
        if refusal is not None:
            events.append(chunk({"refusal": refusal}, None))
        cut = False
        if kind_of_fault == "drop_midway":
            events = events[: max(2, len(events) // 2)]
            cut = True
        elif kind_of_fault == "stream_cut":
            pass  # content, then a clean end: no finish_reason, no usage, no [DONE]
        else:
            events.append(chunk({}, finish_reason))
            if include_usage:
                events.append(
                    {**common, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                )
            events.append("[DONE]")
        out.stream(
            "text/event-stream; charset=utf-8",
            (
                b"data: " + (e if isinstance(e, str) else json.dumps(e)).encode() + b"\n\n"
                for e in events
            ),
            cut=cut,
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until Ctrl+C, for trying the GUI or the CLI without OpenAI."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--chunk-delay", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--prompt-tokens", type=int, default=812)
    parser.add_argument("--completion-tokens", type=int, default=164)
    parser.add_argument("--api-key", default=None, help="require this key")
    parser.add_argument("--models", default=None, help="comma-separated model ids")
    parser.add_argument("--no-json-schema", action="store_true", help="reject json_schema")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    server = FakeOpenAI(
        host=args.host,
        port=args.port,
        latency=args.latency,
        chunk_delay=args.chunk_delay,
        prompt_tokens=args.prompt_tokens,
        completion_tokens=args.completion_tokens,
        api_key=args.api_key,
        models=args.models.split(",") if args.models else None,
        supports_json_schema=not args.no_json_schema,
        verbose=args.verbose,
    )
    with server:
        print(f"fake OpenAI listening on {server.base_url} (Ctrl+C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
