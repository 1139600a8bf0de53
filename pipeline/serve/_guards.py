"""What the server checks before it does any work: the bearer token (constant-time), server-side paths
confined to the allowed roots (after resolving ``..`` and symlinks), uploads within their byte limit, JSON
schemas within their size and depth."""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.serve._errors import ServeError

# Open without a token: a load balancer's probes carry none.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def authorised(header: str | None, key: str | None) -> bool:
    """Whether ``Authorization: header`` carries ``key`` (always, when no key is set)."""
    if key is None:
        return True
    scheme, _, token = (header or "").partition(" ")
    # compare_digest on bytes of both: the time taken does not depend on how much of the token matched.
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key.encode())


def confined(path: str, roots: list[Path]) -> Path:
    """``path`` resolved (symlinks followed), refused unless it lies inside one of ``roots``."""
    if not roots:
        raise ServeError("this server accepts no server-side paths (start it with --allow-root DIR)",
                         reason="forbidden_path", status=403)
    if "\0" in path:
        raise ServeError("bad path", reason="bad_request", status=400)
    resolved = Path(os.path.realpath(path))
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if resolved == real_root or real_root in resolved.parents:
            return resolved
    raise ServeError(f"{path} is outside the allowed roots", reason="forbidden_path", status=403, source=path)


def check_upload_size(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise ServeError(f"upload of {size:,} bytes is over the limit of {limit:,}", reason="too_large",
                         status=413, source=name)


def schema_model(schema: dict[str, Any] | str, *, max_bytes: int, max_depth: int) -> type[BaseModel]:
    """The pydantic model of a JSON schema sent with a request, within the server's limits."""
    from pipeline.extraction import model_from_json_schema

    text = schema if isinstance(schema, str) else json.dumps(schema)
    if len(text.encode()) > max_bytes:
        raise ServeError(f"the JSON schema is over {max_bytes:,} bytes", reason="too_large", status=413)
    try:
        data = json.loads(text) if isinstance(schema, str) else schema
    except json.JSONDecodeError as exc:
        raise ServeError(f"the schema is not JSON: {exc}", reason="bad_request", status=400) from None
    if not isinstance(data, dict):
        raise ServeError("the schema must be a JSON object", reason="bad_request", status=400)
    if _depth(data) > max_depth:
        raise ServeError(f"the JSON schema nests deeper than {max_depth} levels", reason="too_large", status=413)
    if isinstance(data.get("schema"), dict) and "properties" not in data:  # OpenAI's {"name", "schema"} wrapper
        data = {"title": data.get("name"), **data["schema"]}
    return model_from_json_schema(data)


def _depth(value: Any) -> int:
    """Nesting depth of objects and arrays, iteratively (a hostile schema cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in node)
    # Each property sits two levels under its parent ("properties" -> name): count those as one.
    return (deepest + 1) // 2


__all__ = ["PUBLIC_PATHS", "authorised", "check_upload_size", "confined", "schema_model"]
