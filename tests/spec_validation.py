"""Check HTTP traffic against the services' published OpenAPI documents (/work/shared/api-specs).

Used by the client/emulator tests so that "the emulator speaks GHL/Exa/OpenAI" is an assertion, not
a belief. Two calls, both raising ``AssertionError`` with the spec, operation and every problem found:

    validate_request("gohighlevel/contacts", "POST", url, body, headers)
    validate_response("exa", "POST", "/search", 200, body, headers=None)

``spec_name`` is ``gohighlevel/<app>`` (contacts, opportunities, conversations, calendars), ``exa`` or
``openai``, or any path below the specs root without its extension. The specs root is
``$REVOPS_API_SPECS`` or ``<project>/../shared/api-specs``. URLs may point anywhere (an emulator on
127.0.0.1): only their path and query are matched against the spec's server.

GoHighLevel errata. HighLevel's generated schemas contain a few mistakes that no real response (or
sensible request) satisfies; we correct exactly these, mechanically, before validating:
- ``type: object`` with a scalar ``example`` and no properties (``subType``, appointment
  ``startTime``/``endTime``/``dateAdded``/``dateUpdated``, ``dateOfBirth``, numeric custom-field
  values): the type is dropped (any JSON value is accepted);
- ``items: {type: array}`` without inner ``items`` (pipeline ``stages``, opportunity ``notes``/
  ``tasks``/``followers``...): the real elements are objects or strings, so items become unconstrained.
"""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

PROJECT_DIR = Path(__file__).resolve().parent.parent
ALIASES = {"exa": "exa/exa-openapi-spec.yaml", "openai": "openai/openapi.json"}


def specs_root() -> Path:
    return Path(os.environ.get("REVOPS_API_SPECS") or PROJECT_DIR.parent / "shared" / "api-specs")


def spec_path(spec_name: str) -> Path:
    root = specs_root()
    candidates = [root / ALIASES[spec_name]] if spec_name in ALIASES else []
    if spec_name.startswith("gohighlevel/"):
        candidates.append(root / "gohighlevel" / "apps" / f"{spec_name.split('/', 1)[1]}.json")
    candidates += [root / f"{spec_name}{ext}" for ext in (".json", ".yaml", ".yml")]
    folder = root / spec_name
    if folder.is_dir():
        candidates += sorted(p for p in folder.iterdir() if p.suffix in (".json", ".yaml", ".yml"))
    for path in candidates:
        if path.is_file():
            return path
    raise AssertionError(f"no OpenAPI document for spec {spec_name!r} under {root} (set REVOPS_API_SPECS)")


def _ghl_errata(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _ghl_errata(v) for k, v in node.items()}
        if (node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node
                and "example" in node and not isinstance(node["example"], (dict, list))):
            node.pop("type")
        items = node.get("items")
        if node.get("type") == "array" and isinstance(items, dict) and items.get("type") == "array" and "items" not in items:
            node["items"] = {}
        return node
    if isinstance(node, list):
        return [_ghl_errata(v) for v in node]
    return node


@lru_cache(maxsize=None)
def load_spec(spec_name: str) -> tuple[OpenAPI, str, str]:
    """(OpenAPI app, server origin, server base path) for ``spec_name``; cached per process."""
    path = spec_path(spec_name)
    text = path.read_text()
    data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    if spec_name.startswith("gohighlevel/"):
        data = _ghl_errata(copy.deepcopy(data))
    server = urlsplit((data.get("servers") or [{"url": "http://localhost"}])[0]["url"])
    api = OpenAPI.from_dict(data, config=Config(spec_validator_cls=None), base_uri=path.resolve().as_uri())
    return api, f"{server.scheme}://{server.netloc}", server.path.rstrip("/")


def _split(spec_name: str, url_or_path: str) -> tuple[str, str, list[tuple[str, str]]]:
    _, origin, base = load_spec(spec_name)
    parts = urlsplit(url_or_path)
    path = parts.path or "/"
    if "{" in path:  # a path template: fill each parameter with a placeholder value
        path = "/".join("x" if seg.startswith("{") and seg.endswith("}") else seg for seg in path.split("/"))
    if base and not path.startswith(base + "/") and path != base:
        path = base + path
    return origin, path, parse_qsl(parts.query, keep_blank_values=True)


def _bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _content_type(headers: Mapping[str, str] | None, default: str = "application/json") -> str:
    for key, value in (headers or {}).items():
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip()
    return default


def _mock_request(spec_name: str, method: str, url: str, body: Any, headers: Mapping[str, str] | None) -> MockRequest:
    from werkzeug.datastructures import MultiDict

    origin, path, query = _split(spec_name, url)
    request = MockRequest(origin, method, path, headers=dict(headers or {}), data=_bytes(body),
                          content_type=_content_type(headers))
    request.parameters.query = MultiDict(query)  # keep repeated keys (arrays)
    return request


def _describe(errors: list[Exception]) -> str:
    lines = []
    for error in errors:
        lines.append(f"- {type(error).__name__}: {error}")
        cause = error.__cause__ or error.__context__
        for detail in getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None) or []:
            where = "/".join(str(p) for p in getattr(detail, "absolute_path", [])) or "(root)"
            lines.append(f"    at {where}: {getattr(detail, 'message', detail)}")
        if cause is not None and not getattr(cause, "schema_errors", None):
            lines.append(f"    cause: {type(cause).__name__}: {cause}")
    return "\n".join(lines)


def validate_request(spec_name: str, method: str, url: str, body: Any = None,
                     headers: Mapping[str, str] | None = None) -> None:
    """Assert that a request (path, query, headers incl. auth, JSON body) is valid for the spec."""
    api, _, _ = load_spec(spec_name)
    request = _mock_request(spec_name, method, url, body, headers)
    errors = list(api.iter_request_errors(request))
    if errors:
        raise AssertionError(f"{spec_name}: request {method.upper()} {url} does not match the spec:\n{_describe(errors)}")


def validate_response(spec_name: str, method: str, path_template_or_url: str, status: int, body: Any,
                      headers: Mapping[str, str] | None = None) -> None:
    """Assert that a response (status, content type, JSON body) is what the spec documents for the call."""
    api, _, _ = load_spec(spec_name)
    request = _mock_request(spec_name, method, path_template_or_url, None, {})
    response = MockResponse(_bytes(body) or b"", status_code=status, headers=dict(headers or {}),
                            content_type=_content_type(headers))
    errors = list(api.iter_response_errors(request, response))
    if errors:
        raise AssertionError(
            f"{spec_name}: response {status} to {method.upper()} {path_template_or_url} does not match the spec:\n"
            f"{_describe(errors)}")


def operation_of(spec_name: str, method: str, url: str) -> str:
    """The spec's path template a concrete call matches (literal segments beat parameters)."""
    api, _, base = load_spec(spec_name)
    path = urlsplit(url).path
    segments = path.rstrip("/").split("/") if path != "/" else [""]
    best: tuple[int, str] | None = None
    for template, item in api.spec["paths"].items():
        if method.lower() not in item.keys():
            continue
        full = (base + template) if base and not template.startswith(base + "/") else template
        parts = full.rstrip("/").split("/") if full != "/" else [""]
        if len(parts) != len(segments):
            continue
        if all(p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(parts, segments)):
            params = sum(p.startswith("{") for p in parts)
            if best is None or params < best[0]:
                best = (params, template)
    if best is None:
        raise AssertionError(f"{spec_name}: no operation for {method.upper()} {path}")
    return best[1]


def validate_exchange(spec_name: str, response: Any) -> None:
    """Validate both halves of a ``requests.Response`` (its ``.request`` included)."""
    sent = response.request
    validate_request(spec_name, sent.method, sent.url, sent.body, dict(sent.headers))
    validate_response(spec_name, sent.method, sent.url, response.status_code, response.content, dict(response.headers))
