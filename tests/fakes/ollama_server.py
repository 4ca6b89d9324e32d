"""A server that speaks Ollama's HTTP API closely enough for the ``ollama`` SDK.

Wire shapes follow Ollama's docs/api.md and the SDK's ``_types.py``: NDJSON streams
whose last line has ``done: true``, ``done_reason`` and the counts; errors as
``{"error": "..."}``. Run it by hand for the GUI:

    python -m tests.fakes ollama --port 11434 --latency 0.3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tests.fakes.base import FakeServer, Fault, Recorded, Responder, now_iso, split_text
from tests.fakes.sample_answers import (
    NOT_JSON_CONTENT,
    answer_for,
    detect_kind,
    wrong_answer_for,
)


@dataclass(frozen=True)
class OllamaModel:
    """One installed model as /api/tags and /api/show describe it."""

    name: str
    size: int = 2_019_393_189
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    context_length: int | None = 131072
    digest: str = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"


DEFAULT_OLLAMA_MODELS: tuple[OllamaModel, ...] = (
    OllamaModel("llama3.2:3b"),
    OllamaModel(
        "qwen2.5:7b",
        size=4_683_087_332,
        family="qwen2",
        parameter_size="7.6B",
        context_length=32768,
        digest="845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
    ),
)

_ERROR_BODIES = {
    401: "unauthorized",
    429: "too many requests, please try again later",
    500: "llama runner process has terminated: exit status 2",
    502: "bad gateway",
    503: "server busy, please try again.  maximum pending requests exceeded",
}


class FakeOllama(FakeServer):
    """Ollama on 127.0.0.1: /api/tags, /api/show, /api/version, /api/chat.

    Chat with a model that is not in ``models`` gets Ollama's real 404
    (``model "x" not found, try pulling it first``) unless ``strict_models=False``.
    """

    def __init__(
        self,
        *,
        models: Sequence[OllamaModel | str] | None = None,
        version: str = "0.12.3",
        strict_models: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.models: list[OllamaModel] = [
            m if isinstance(m, OllamaModel) else OllamaModel(m)
            for m in (models if models is not None else DEFAULT_OLLAMA_MODELS)
        ]
        self.version = version
        self.strict_models = strict_models

    def __enter__(self) -> FakeOllama:
        self.start()
        return self

    @property
    def chat_requests(self) -> list[Recorded]:
        return self.requests_to("/api/chat")

    def find_model(self, name: str | None) -> OllamaModel | None:
        """Ollama's lookup: ``llama3.2`` means ``llama3.2:latest``."""
        if not name:
            return None
        wanted = name if ":" in name else f"{name}:latest"
        for m in self.models:
            if m.name in (name, wanted):
                return m
        return None

    # --- routing ---------------------------------------------------------------------

    def _handle(self, out: Responder, rec: Recorded) -> None:
        route = (rec.method, rec.path)
        if route == ("POST", "/api/chat"):
            self._chat(out, rec)
        elif route == ("GET", "/api/tags"):
            if not self._simple_fault(out, rec, "tags"):
                out.json(200, {"models": [self._tag(m) for m in self.models]})
        elif route == ("POST", "/api/show"):
            if not self._simple_fault(out, rec, "show"):
                self._show(out, rec)
        elif route == ("GET", "/api/version"):
            if not self._simple_fault(out, rec, "version"):
                out.json(200, {"version": self.version})
        elif route in (("GET", "/"), ("HEAD", "/")):
            out.raw(200, b"Ollama is running")
        else:
            out.raw(404, b"404 page not found")

    def _error(self, out: Responder, rec: Recorded, fault: Fault) -> None:
        if fault.body is not None:
            body = fault.body
            if isinstance(body, bytes | str):
                data = body.encode() if isinstance(body, str) else body
                out.raw(fault.code, data, "application/json; charset=utf-8", fault.headers)
                return
            out.json(fault.code, body, fault.headers)
            return
        if fault.code == 404:
            message = self._not_found_message(rec)
        else:
            message = _ERROR_BODIES.get(fault.code) or HTTPStatus(fault.code).phrase.lower()
        out.json(fault.code, {"error": message}, fault.headers)

    @staticmethod
    def _not_found_message(rec: Recorded) -> str:
        body = rec.body if isinstance(rec.body, dict) else {}
        model = body.get("model") or body.get("name") or ""
        if rec.path == "/api/show":
            return f"model '{model}' not found"
        return f'model "{model}" not found, try pulling it first'

    def _simple_fault(self, out: Responder, rec: Recorded, endpoint: str) -> bool:
        """Apply a queued fault to a non-chat endpoint; True when it answered."""
        fault = self._next_fault(endpoint)
        if fault is None:
            return False
        if fault.kind == "hang" and out.hang():
            return False
        if fault.kind == "hang":
            return True
        if fault.kind in ("status", "echo_key"):
            if fault.kind == "echo_key":
                echo = rec.headers.get("authorization", "(none)")
                out.json(fault.code, {"error": f"unauthorized: {echo}"})
            else:
                self._error(out, rec, fault)
        elif fault.kind == "not_json_body":
            out.raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif fault.kind == "drop_midway":
            out.truncated_body(200, b'{"models": [{"name": "x"}]}', "application/json")
        else:
            return False
        return True

    @staticmethod
    def _tag(m: OllamaModel) -> dict[str, Any]:
        return {
            "name": m.name,
            "model": m.name,
            "modified_at": "2025-01-15T10:00:00.000000000Z",
            "size": m.size,
            "digest": m.digest,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": m.family,
                "families": [m.family],
                "parameter_size": m.parameter_size,
                "quantization_level": m.quantization_level,
            },
        }

    def _show(self, out: Responder, rec: Recorded) -> None:
        body = rec.body if isinstance(rec.body, dict) else {}
        m = self.find_model(body.get("model") or body.get("name"))
        if m is None:
            out.json(404, {"error": self._not_found_message(rec)})
            return
        model_info: dict[str, Any] = {
            "general.architecture": m.family,
            "general.basename": m.name.split(":")[0],
            "general.file_type": 15,
            "general.parameter_count": 3_212_749_888,
            f"{m.family}.block_count": 28,
            f"{m.family}.embedding_length": 3072,
        }
        if m.context_length is not None:
            model_info[f"{m.family}.context_length"] = m.context_length
        out.json(
            200,
            {
                "license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
                "modelfile": f"FROM {m.name}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": self._tag(m)["details"],
                "model_info": model_info,
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-01-15T10:00:00.000000000Z",
            },
        )

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
        if fault is not None and fault.kind == "status":
            self._error(out, rec, fault)
            return
        if fault is not None and fault.kind == "echo_key":
            echo = rec.headers.get("authorization", "(none)")
            out.json(fault.code, {"error": f"unauthorized: invalid credentials {echo}"})
            return
        requested = body.get("model")
        if self.strict_models and self.find_model(requested) is None:
            out.json(404, {"error": self._not_found_message(rec)})
            return
        if fault is not None and fault.kind == "not_json_body":
            out.raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return

        kind = detect_kind(body.get("format"), body.get("messages"))
        content = json.dumps(answer_for(kind))
        done_reason = "stop"
        kind_of_fault = fault.kind if fault is not None else None
        if kind_of_fault == "content" and fault is not None:
            content = fault.text or ""
        elif kind_of_fault == "not_json_content":
            content = NOT_JSON_CONTENT
        elif kind_of_fault == "wrong_schema":
            content = json.dumps(wrong_answer_for(kind))
        elif kind_of_fault == "truncated":
            content = content[: len(content) // 2]
            done_reason = "length"

        model_name = self.reported_model or requested or "unknown"
        final: dict[str, Any] = {
            "model": model_name,
            "created_at": now_iso(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": done_reason,
            "done": True,
            "total_duration": 4_935_886_791,
            "load_duration": 534_986_708,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": 107_345_000,
            "eval_count": self.completion_tokens,
            "eval_duration": 4_289_432_000,
        }
        if kind_of_fault == "no_prompt_count":
            del final["prompt_eval_count"]
            del final["prompt_eval_duration"]

        if not body.get("stream", True):
            final["message"] = {"role": "assistant", "content": content}
            data = json.dumps(final).encode()
            if kind_of_fault in ("drop_midway", "stream_cut"):
                out.truncated_body(200, data, "application/json; charset=utf-8")
            else:
                out.json(200, final)
            return

        lines = [
            {
                "model": model_name,
                "created_at": now_iso(),
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            for piece in split_text(content, self.stream_pieces)
        ]
        cut = False
        if kind_of_fault == "drop_midway":
            lines = lines[: max(1, len(lines) // 2)]
            cut = True
        elif kind_of_fault == "stream_cut":
            pass  # every content line, then a clean end without the final one
        elif kind_of_fault == "error_in_stream" and fault is not None:
            lines = [*lines[: max(1, len(lines) // 2)], {"error": fault.text}]
        else:
            lines.append(final)
        out.stream(
            "application/x-ndjson",
            (json.dumps(line).encode() + b"\n" for line in lines),
            cut=cut,
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until Ctrl+C, for trying the GUI or the CLI without a real Ollama."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--chunk-delay", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--prompt-tokens", type=int, default=812)
    parser.add_argument("--completion-tokens", type=int, default=164)
    parser.add_argument("--models", default=None, help="comma-separated model names")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    models = args.models.split(",") if args.models else None
    server = FakeOllama(
        host=args.host,
        port=args.port,
        latency=args.latency,
        chunk_delay=args.chunk_delay,
        prompt_tokens=args.prompt_tokens,
        completion_tokens=args.completion_tokens,
        models=models,
        verbose=args.verbose,
    )
    with server:
        print(f"fake Ollama listening on {server.url} (Ctrl+C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
