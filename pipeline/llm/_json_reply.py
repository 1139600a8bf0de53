"""JSON in and out of a chat model: reading a reply, and a schema OpenAI strict mode accepts."""

from __future__ import annotations

import json
import re
from typing import Any


def parse_json_reply(text: str) -> Any:
    """JSON from a model reply: the whole text, else a fenced block, else the first balanced object."""
    s = text.strip()
    try:
        return json.loads(s)
    except json.JSONDecodeError as first_error:
        fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.S)
        if fence:
            try:
                return json.loads(fence.group(1))
            except json.JSONDecodeError:
                pass
        start = min((i for i in (s.find("{"), s.find("[")) if i >= 0), default=-1)
        if start >= 0:
            try:
                obj, _ = json.JSONDecoder().raw_decode(s[start:])
                return obj
            except json.JSONDecodeError:
                pass
        raise ValueError(f"reply is not valid JSON: {first_error}") from None


# Keywords OpenAI strict mode rejects; the length bounds only matter to grammar-based servers.
_STRICT_UNSUPPORTED = frozenset({"default", "title", "minLength", "maxLength", "pattern"})


def strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``schema`` made acceptable to OpenAI strict mode.

    Strict mode wants every object closed (``additionalProperties: false``) with all its
    properties required (optional ones are expressed as nullable), and rejects ``default`` and
    string length/pattern keywords.
    """

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items() if k not in _STRICT_UNSUPPORTED}
            if out.get("type") == "object" and "properties" in out:
                out["additionalProperties"] = False
                out["required"] = list(out["properties"])
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    fixed = fix(schema)
    assert isinstance(fixed, dict)
    return fixed


def schema_instruction(schema: dict[str, Any]) -> str:
    """The system-prompt text that asks for JSON conforming to ``schema`` (when the server cannot enforce it)."""
    return (
        "Reply with one JSON object only, no prose and no code fences. It must conform to this JSON schema:\n"
        + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    )


__all__ = ["parse_json_reply", "schema_instruction", "strict_json_schema"]
