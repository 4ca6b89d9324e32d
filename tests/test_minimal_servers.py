"""Servers that speak only the core of each API still work.

Gateways, proxies and older Ollama builds often implement just the chat endpoint
(and a model list). Built with pytest-httpserver, which answers any route it was
not taught with a 500: the engine must not retry or fail on the optional ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from cvjd_desktop import cli
from tests.doc_factory import write_text
from tests.fakes import SAMPLE_CV

OLLAMA_ANSWER = {
    "model": "gateway-model",
    "created_at": "2026-12-03T10:00:00Z",
    "message": {"role": "assistant", "content": json.dumps(SAMPLE_CV)},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 321,
    "eval_count": 45,
}


def test_ollama_without_api_show(httpserver: HTTPServer, tmp_path: Path, capsys) -> None:
    # Non-streaming answers only: an NDJSON stream of one final object is valid too.
    httpserver.expect_request("/api/chat", method="POST").respond_with_data(
        json.dumps(OLLAMA_ANSWER) + "\n", content_type="application/x-ndjson"
    )
    cv = write_text(tmp_path / "cv.txt", "Ada Lovelace\nExperience\nAnalyst\nEducation\n")
    url = httpserver.url_for("/").rstrip("/")
    code = cli.main(["extract", "--json", "--ollama-host", url, "--model", "m", str(cv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    result = json.loads(out)
    assert result["status"] == "ok"
    assert result["data"]["basics"]["name"] == SAMPLE_CV["basics"]["name"]
    usage = result["token_usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (321, 45)
    assert usage["model"] == "gateway-model"
    shows = [r for r, _ in httpserver.log if r.path == "/api/show"]
    assert len(shows) == 1  # asked once, not retried as if it were a server fault


def test_openai_compatible_with_only_chat_completions(
    httpserver: HTTPServer, tmp_path: Path, capsys
) -> None:
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1764756000,
            "model": "local-llm",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps(SAMPLE_CV)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 400, "completion_tokens": 60, "total_tokens": 460},
        }
    )
    cv = write_text(tmp_path / "cv.txt", "Ada Lovelace\nExperience\nAnalyst\nEducation\n")
    base = httpserver.url_for("/v1")
    args = ["extract", "--json", "--provider", "openai", "--openai-base-url", base]
    code = cli.main([*args, "--model", "local-llm", str(cv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    result = json.loads(out)
    assert result["status"] == "ok"
    assert result["token_usage"]["prompt_tokens"] == 400
    assert result["token_usage"]["completion_tokens"] == 60
    assert result["cost_usd"] is None  # a self-hosted model has no known price


def test_ollama_answering_one_pretty_printed_json_body(
    httpserver: HTTPServer, tmp_path: Path, capsys
) -> None:
    """A server that ignores ``stream`` and answers one indented JSON document."""
    httpserver.expect_request("/api/chat", method="POST").respond_with_json(OLLAMA_ANSWER)
    cv = write_text(tmp_path / "cv.txt", "Ada Lovelace\nExperience\nAnalyst\nEducation\n")
    url = httpserver.url_for("/").rstrip("/")
    code = cli.main(["extract", "--json", "--ollama-host", url, "--model", "m", str(cv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    result = json.loads(out)
    assert result["token_usage"]["prompt_tokens"] == 321
    assert result["data"]["basics"]["name"] == SAMPLE_CV["basics"]["name"]


def test_openai_compatible_server_that_rejects_streaming(
    httpserver: HTTPServer, tmp_path: Path, capsys
) -> None:
    """Some servers refuse ``stream``/``stream_options``: ask again without streaming."""
    from werkzeug import Request, Response

    answer = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1764756000,
        "model": "strict-server",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(SAMPLE_CV)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 500, "completion_tokens": 70, "total_tokens": 570},
    }

    def handler(request: Request) -> Response:
        body = request.get_json()
        if body.get("stream") or "stream_options" in body:
            error = {
                "error": {
                    "message": "Unrecognized request argument supplied: stream_options",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
            return Response(json.dumps(error), status=400, content_type="application/json")
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(handler)
    cv = write_text(tmp_path / "cv.txt", "Ada Lovelace\nExperience\nAnalyst\nEducation\n")
    args = ["extract", "--json", "--provider", "openai"]
    args += ["--openai-base-url", httpserver.url_for("/v1"), "--model", "strict-server"]
    code = cli.main([*args, str(cv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    result = json.loads(out)
    assert result["token_usage"]["prompt_tokens"] == 500
    bodies = [json.loads(r.data) for r, _ in httpserver.log]
    assert bodies[0].get("stream") is True
    assert "stream" not in bodies[-1]


def test_plain_answer_without_model_keeps_its_usage(
    httpserver: HTTPServer, tmp_path: Path, capsys
) -> None:
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps(SAMPLE_CV)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 777, "completion_tokens": 111, "total_tokens": 888},
        }
    )
    cv = write_text(tmp_path / "cv.txt", "Ada Lovelace\nExperience\nAnalyst\nEducation\n")
    args = ["extract", "--json", "--provider", "openai", "--openai-base-url"]
    code = cli.main([*args, httpserver.url_for("/v1"), "--model", "gpt-4o-mini", str(cv)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    usage = json.loads(out)["token_usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (777, 111)
    assert usage["model"] == "gpt-4o-mini"  # what was asked for, when the server is silent
