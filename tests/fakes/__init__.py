"""Real HTTP servers on 127.0.0.1 that speak the Ollama and OpenAI wire formats.

Tests drive the real ``ollama`` and ``openai`` SDKs against these; nothing is
mocked. Each server runs in a daemon thread on a free port and works outside pytest:

    from tests.fakes import FakeOllama, FakeOpenAI, Fault

    with FakeOllama() as srv:          # srv.url == "http://127.0.0.1:PORT"
        ...
    with FakeOpenAI(api_key="sk-test") as srv:   # give the SDK srv.base_url (".../v1")
        ...

In pytest use the fixtures ``fake_ollama`` and ``fake_openai`` (tests/conftest.py):
a started server per test, stopped afterwards (hanging requests are let go).
``fake_openai`` requires the key ``FAKE_OPENAI_KEY`` (== ``fake_openai.api_key``).
By hand: ``python -m tests.fakes ollama --port 11434 --latency 0.3`` and
``python -m tests.fakes openai --port 8000`` (``--help`` after the name lists options).

Default answers
    Chat answers a valid JSON object for the schema requested: a CV for
    "Ada Lovelace" (``SAMPLE_CV``) when the schema (Ollama ``format``, OpenAI
    ``response_format``, or in JSON mode the prompt) names ``"basics"``, a JD
    "Senior Python Engineer" at "Acme Corp" (``SAMPLE_JD``) when it names
    ``"hiringOrganization"``. Streams split the content into ``stream_pieces``
    (8) chunks, ``chunk_delay`` seconds apart.

Attributes to set (constructor keywords or plain attributes, any time)
    both:   ``prompt_tokens`` (812), ``completion_tokens`` (164),
            ``reported_model`` (None: echo the requested model), ``latency``
            (seconds before a chat answer), ``chunk_delay``, ``stream_pieces``,
            ``strict_models`` (True: an unknown model gets the real 404), ``models``.
    FakeOllama: ``models`` is a list of ``OllamaModel(name, size, family,
            parameter_size, quantization_level, context_length)`` (plain names are
            accepted); defaults ``llama3.2:3b`` (context 131072) and ``qwen2.5:7b``
            (32768). ``/api/show`` reports ``"<family>.context_length"`` in
            ``model_info`` (left out when ``context_length=None``). ``version``.
    FakeOpenAI: ``models`` is a list of ids (defaults include non-chat ones such as
            ``text-embedding-3-small``); ``cached_tokens`` (128),
            ``reasoning_tokens`` (32); ``api_key`` (None: accept any key; set:
            anything else gets OpenAI's real 401); ``supports_json_schema`` (False:
            400 for ``response_format`` ``json_schema``, like many compatible
            servers); ``srv.usage()`` is the usage object it reports.

Request log
    ``srv.requests`` (thread-safe copy, oldest first) of ``Recorded(method, path,
    query, headers, body, raw)``: ``headers`` with lower-case names, ``body`` the
    parsed JSON (or None), ``raw`` the bytes; ``rec.text()`` is headers and body
    as one string for "does X appear anywhere" checks. ``srv.chat_requests``,
    ``srv.requests_to(path)``, ``srv.reset()``.

Fault injection
    ``srv.enqueue(fault, ..., times=1, on="chat")`` scripts the next calls to an
    endpoint (``on``: "chat"; Ollama also "tags", "show", "version"; OpenAI
    "models"); once the queue is empty calls behave normally again, so a repair
    or retry after one fault succeeds. ``srv.pending_faults()`` tells what is left.

    ``Fault.status(code, headers=None, body=None)``  HTTP error; body None gives the
        service's real body for it (Ollama ``{"error": "..."}``, OpenAI
        ``{"error": {"message", "type", "param", "code"}}``)
    ``Fault.unauthorized()`` 401, ``Fault.model_not_found()`` 404 (Ollama: ``model
        "x" not found, try pulling it first``; OpenAI: ``model_not_found``),
        ``Fault.rate_limited(retry_after="0")`` 429, ``Fault.server_error(500|503)``
    ``Fault.not_json_body()``     200 with an HTML body
    ``Fault.not_json_content()``  the model answers prose instead of JSON
    ``Fault.content(text)``       the model answers ``text``
    ``Fault.wrong_schema()``      valid JSON that fails the pydantic schema
    ``Fault.truncated()``         half the JSON, done_reason/finish_reason "length"
                                  (usage still reported)
    ``Fault.drop_midway()``       connection closed halfway through the body/stream
    ``Fault.hang()``              accept and never answer, until ``srv.release()``
                                  (then it answers normally) or ``srv.stop()``
    ``Fault.no_prompt_count()``   Ollama: final chunk without prompt_eval_count;
                                  OpenAI: no ``usage`` object
    ``Fault.stream_cut()``        a stream that ends cleanly before its final chunk
                                  (non-stream: body cut short)
    ``Fault.echo_key(code=401)``  error body repeating the Authorization header
    ``Fault.error_in_stream(msg)`` Ollama: an ``{"error": msg}`` line mid-stream
    ``Fault.refusal(text)``       OpenAI: the model refuses (``refusal`` set)
"""

from tests.fakes.base import FakeServer, Fault, Recorded
from tests.fakes.ollama_server import DEFAULT_OLLAMA_MODELS, FakeOllama, OllamaModel
from tests.fakes.openai_server import DEFAULT_OPENAI_MODELS, FAKE_OPENAI_KEY, FakeOpenAI
from tests.fakes.sample_answers import SAMPLE_CV, SAMPLE_JD

__all__ = [
    "DEFAULT_OLLAMA_MODELS",
    "DEFAULT_OPENAI_MODELS",
    "FAKE_OPENAI_KEY",
    "SAMPLE_CV",
    "SAMPLE_JD",
    "FakeOllama",
    "FakeOpenAI",
    "FakeServer",
    "Fault",
    "OllamaModel",
    "Recorded",
]
