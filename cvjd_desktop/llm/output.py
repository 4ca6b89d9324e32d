"""What providers share about the answer: the schema as sent, parsing, and repair.

A model's answer is trusted only after pydantic validated it. When it fails, the
model gets one chance to correct itself (the repair turn), because small local
models often slip once and then get it right when shown the error.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from cvjd_desktop.errors import InvalidOutputError, OutputTruncatedError, ProviderError
from cvjd_desktop.llm.base import ProviderResult
from cvjd_desktop.schemas import TokenUsage, compact_json_schema

log = logging.getLogger(__name__)

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


class OutputProblem(Exception):
    """The answer was not JSON or did not match the schema; ``str()`` says how."""


def schema_json(schema: type[BaseModel]) -> str:
    """The compact schema as one line of JSON, as it goes into prompts."""
    return json.dumps(compact_json_schema(schema), separators=(",", ":"))


def schema_instructions(schema: type[BaseModel]) -> str:
    """Appended to the system prompt where the schema travels in the prompt.

    Ollama constrains decoding with ``format`` but the model still needs to know
    what the fields mean; JSON mode constrains nothing but the syntax.
    """
    return (
        "Answer with one JSON object that matches this JSON schema, and nothing else. "
        "Use null or [] for anything the document does not state.\n"
        f"Schema: {schema_json(schema)}"
    )


def strict_json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The compact schema made acceptable to OpenAI's ``strict`` structured outputs.

    Strict mode wants every property listed in ``required`` (optional ones are
    nullable instead), ``additionalProperties: false`` on every object, and no
    sibling keys next to a ``$ref``. Same rules as the SDK's ``to_strict_json_schema``,
    applied to our compact schema so that fewer tokens are paid.
    """
    root = copy.deepcopy(compact_json_schema(schema))
    return _strictify(root, root)


def _strictify(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strictify(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    for defs_key in ("$defs", "definitions"):
        defs = node.get(defs_key)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                defs[name] = _strictify(sub, root)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _strictify(merged, root)
    if node.get("type") == "object" or "properties" in node:
        node.setdefault("additionalProperties", False)
    properties = node.get("properties")
    if isinstance(properties, dict):
        node["required"] = list(properties)
        for key, sub in properties.items():
            properties[key] = _strictify(sub, root)
    for key in ("items", "anyOf", "allOf", "oneOf"):
        if key in node:
            node[key] = _strictify(node[key], root)
    node.pop("default", None)
    return node


def parse_answer(content: str | None, schema: type[BaseModel]) -> BaseModel:
    """Validate the model's answer; raises ``OutputProblem`` with a short reason."""
    text = (content or "").strip()
    if not text:
        raise OutputProblem("the answer was empty")
    if fenced := _FENCE.match(text):
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OutputProblem(f"the answer is not valid JSON ({_short(str(exc))})") from None
    if not isinstance(data, dict):
        raise OutputProblem(f"the answer is JSON but not an object (got {type(data).__name__})")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise OutputProblem(
            f"the answer does not match the schema ({describe_validation(exc)})"
        ) from None


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """``basics: Input should be a valid dictionary; work: ...``: the first few errors."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def repair_turns(bad_answer: str | None, problem: OutputProblem) -> list[dict[str, str]]:
    """The two messages that ask the model to correct its own answer."""
    return [
        {"role": "assistant", "content": bad_answer or ""},
        {
            "role": "user",
            "content": (
                f"That answer cannot be used: {problem}. Reply again with only the "
                "corrected JSON object, matching the schema exactly."
            ),
        },
    ]


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the first call and its repair ---------------------------------------------------


@dataclass
class Answer:
    """One completed call: the text, what it cost, and why generation stopped."""

    content: str
    usage: TokenUsage
    finish_reason: str | None
    refusal: str | None = None


Ask = Callable[[list[dict[str, str]]], Answer]


def answer_with_repair(
    ask: Ask,
    messages: list[dict[str, str]],
    schema: type[BaseModel],
    *,
    model: str,
    warnings: list[str] | None = None,
) -> ProviderResult:
    """Ask, validate, and on an unusable answer ask once more with the error shown.

    Every error raised carries the usage of all calls made so far: an answer that
    was paid for stays paid for even when the repair then fails. ``warnings`` is
    the list the result will carry; ``ask`` may still add to it.
    """
    warnings = warnings if warnings is not None else []
    first = ask(messages)
    _check_finish(first, first.usage, model)
    try:
        return ProviderResult(parse_answer(first.content, schema), first.usage, warnings)
    except OutputProblem as exc:
        problem = exc
    log.info("%s: unusable answer (%s); asking for a repair", model, problem)
    try:
        second = ask(messages + repair_turns(first.content, problem))
    except ProviderError as exc:
        exc.usage = first.usage + exc.usage
        raise
    usage = first.usage + second.usage
    _check_finish(second, usage, model)
    try:
        data = parse_answer(second.content, schema)
    except OutputProblem as problem2:
        raise InvalidOutputError(
            f"model {model} gave an unusable answer, twice: {problem2}", usage
        ) from None
    warnings.append(f"the first answer was unusable ({problem}); the repaired one was used")
    return ProviderResult(data, usage, warnings)


def _check_finish(answer: Answer, usage: TokenUsage, model: str) -> None:
    if answer.refusal:
        raise InvalidOutputError(
            f"model {model} refused to answer: {_short(answer.refusal)}", usage
        )
    if answer.finish_reason == "length":
        raise OutputTruncatedError(
            f"the answer of model {model} was cut off at the length limit (the output "
            "token limit or the context window); try a shorter document",
            usage,
        )
