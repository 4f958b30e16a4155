"""``revops intent classify``: JSON lines in, one JSON line out per input line, never crashing."""

from __future__ import annotations

import json
import sys

import click


@click.group()
def intent() -> None:
    """Detect buying-intent signals (funding, hiring, leadership change, product launch) in news text."""


def _classify_line(line: str, method: str) -> dict:
    from revops_assets.scoring.intent import classify

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"signals": [], "error": f"invalid JSON: {exc.msg} at column {exc.colno}"}
    if not isinstance(obj, dict):
        return {"signals": [], "error": "expected a JSON object"}
    text, published = obj.get("text"), obj.get("published")
    if not isinstance(text, str):
        return {"signals": [], "error": "'text' must be a string"}
    if published is not None and not isinstance(published, str):
        return {"signals": [], "error": "'published' must be a string or null"}
    return {"signals": [{"type": s.type, "confidence": s.confidence} for s in classify(text, published, method)]}


@intent.command("classify")
def classify_cmd() -> None:
    """Read {"text", "published"} JSON lines on stdin; write {"signals": [...]} per line (same order).

    A bad line yields {"signals": [], "error": "..."} on its own output line, so line N of the
    output always answers line N of the input. Blank lines are answered too.
    """
    from revops_assets.settings import load_settings

    method = load_settings().intent_method
    out = click.get_text_stream("stdout")
    # Bytes, split on b"\n" only: a text stream would die on one non-UTF-8 byte and would also break
    # lines at a bare "\r" (universal newlines), so output line N would no longer answer input line N.
    for raw in click.get_binary_stream("stdin"):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
            result = _classify_line(line, method) if line.strip() else {"signals": [], "error": "empty line"}
        except UnicodeDecodeError:
            result = {"signals": [], "error": "line is not valid UTF-8"}
        except Exception as exc:  # noqa: BLE001 -- a line must never take the stream down
            result = {"signals": [], "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    sys.stdout.flush()
