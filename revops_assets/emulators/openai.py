"""OpenAI API emulator: ``POST /v1/audio/transcriptions`` and ``POST /v1/chat/completions``.

Speaks OpenAI's wire format (Bearer auth, multipart uploads, ``{error: {message, type, param, code}}``)
and answers deterministically, with every generated text clearly labelled as emulated:

- transcriptions: the emulator cannot see the caller's paths, so it looks the uploaded bytes' sha256
  up in ``<sample_dir>/openai/transcripts.jsonl`` (``{"sha256", "text", "segments"}``); unknown audio
  gets an ``[emulated transcript]`` placeholder sized from the audio's duration (wav header);
- chat completions: an ``[emulated completion]`` that echoes the last user message.

Behaviours reproduced on purpose: ``verbose_json`` only with ``whisper-1`` (else 400); uploads over
25 MiB -> 413; missing or ``rejected...`` key -> 401 ``invalid_api_key``; a key starting ``noquota``
-> 429 ``insufficient_quota`` (which clients must not retry).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import json
import math
import time
import wave
from pathlib import Path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from revops_assets.emulators._server import DocStore

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # OpenAI's documented upload limit
PLACEHOLDER_SEGMENT_S = 10.0
AUDIO_EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
VERBOSE_JSON_MODELS = ("whisper-1",)
TRANSCRIPTION_MODELS = ("whisper-1", "gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
                        "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize")
_LANGUAGES = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
              "pt": "portuguese", "nl": "dutch", "ja": "japanese"}


def _error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}},
                        status_code=status, headers=headers)


def error_response(status: int) -> Response:
    """OpenAI's error body for the faults the injector throws (a 429 here is the retryable kind)."""
    if status == 429:
        return _error(429, "Rate limit reached for requests. Please try again in 1s.", "requests",
                      "rate_limit_exceeded", headers={"retry-after": "1"})
    if status == 401:
        return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
    if status >= 500:
        return _error(status, "The server had an error while processing your request. Sorry about that!",
                      "server_error")
    return _error(status, f"HTTP {status}", "invalid_request_error")


def _auth_error(request: Request) -> Response | None:
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not key:
        return _error(401, "You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                      "invalid_request_error", "invalid_api_key")
    if key.startswith("rejected"):
        return _error(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}.",
                      "invalid_request_error", "invalid_api_key")
    if key.startswith("noquota"):
        return _error(429, "You exceeded your current quota, please check your plan and billing details.",
                      "insufficient_quota", "insufficient_quota")
    return None


# --- multipart (stdlib parser: no python-multipart dependency) ------------------------------------

def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files of a ``multipart/form-data`` body; repeated fields keep the last value,
    except ``name[]`` arrays, which are joined with commas."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("expected a multipart/form-data body")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        elif name.endswith("[]"):
            prior = fields.get(name[:-2])
            value = payload.decode("utf-8")
            fields[name[:-2]] = f"{prior},{value}" if prior else value
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


# --- transcripts ---------------------------------------------------------------------------------

def _wav_duration(data: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            return wav.getnframes() / float(wav.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def _load_registry(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        entries = [json.loads(line) for line in fh if line.strip()]
    return {e["sha256"]: e for e in entries}


def _segment(i: int, start: float, end: float, text: str) -> dict:
    """A segment with every field the spec requires (the model-internal ones at neutral values)."""
    return {"id": i, "seek": int(start * 100), "start": round(start, 3), "end": round(end, 3), "text": text,
            "tokens": [], "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2,
            "no_speech_prob": 0.01}


def _transcript(data: bytes, registry: dict[str, dict]) -> tuple[str, float, list[dict]]:
    digest = hashlib.sha256(data).hexdigest()
    duration = _wav_duration(data)
    known = registry.get(digest)
    if known is not None:
        raw_segments = known.get("segments") or [{"start": 0.0, "end": duration or 0.0, "text": known["text"]}]
        segments = [_segment(i, float(s["start"]), float(s["end"]), s["text"]) for i, s in enumerate(raw_segments)]
        if duration is None:
            duration = max((s["end"] for s in segments), default=0.0)
        return known["text"], duration, segments
    if duration is None:  # compressed audio: assume 128 kbit/s
        duration = len(data) / 16000.0
    segments = []
    n = max(1, math.ceil(duration / PLACEHOLDER_SEGMENT_S))
    for i in range(n):
        start, end = i * PLACEHOLDER_SEGMENT_S, min(duration, (i + 1) * PLACEHOLDER_SEGMENT_S)
        segments.append(_segment(i, start, end, f" [emulated transcript] audio {digest[:12]}, "
                                               f"{start:.1f}s to {end:.1f}s."))
    text = "".join(s["text"] for s in segments).strip()
    return text, duration, segments


def _srt_time(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


# --- chat ----------------------------------------------------------------------------------------

def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def build_app(store: DocStore, sample_dir: Path) -> Starlette:
    registry = _load_registry(Path(sample_dir) / "openai" / "transcripts.jsonl")

    async def transcriptions(request: Request) -> Response:
        if (denied := _auth_error(request)) is not None:
            return denied
        limit = request.app.state.max_upload_bytes
        length = int(request.headers.get("content-length") or 0)
        if length > limit + 1024 * 1024:  # refuse before reading a huge body; parts overhead is small
            return _error(413, f"Maximum content size limit ({limit}) exceeded ({length} bytes read)",
                          "invalid_request_error", "file_too_large", "file")
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return _error(400, "Expected a multipart/form-data body", "invalid_request_error")
        try:
            fields, files = _parse_multipart(content_type, await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"Could not parse multipart form: {exc}", "invalid_request_error")
        if "file" not in files:
            return _error(400, "you must provide a file", "invalid_request_error", param="file")
        filename, data = files["file"]
        if len(data) > limit:
            return _error(413, f"Maximum content size limit ({limit}) exceeded ({len(data)} bytes read)",
                          "invalid_request_error", "file_too_large", "file")
        model = fields.get("model")
        if not model:
            return _error(400, "you must provide a model parameter", "invalid_request_error", param="model")
        if model not in TRANSCRIPTION_MODELS:
            return _error(400, f"The model `{model}` does not exist or you do not have access to it.",
                          "invalid_request_error", "model_not_found", "model")
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in AUDIO_EXTENSIONS:
            return _error(400, f"Invalid file format. Supported formats: {list(AUDIO_EXTENSIONS)}",
                          "invalid_request_error", param="file")
        fmt = fields.get("response_format", "json")
        if fmt == "verbose_json" and model not in VERBOSE_JSON_MODELS:
            return _error(400, f"response_format 'verbose_json' is not compatible with model '{model}'. "
                               "Use 'json' or 'text' instead.", "invalid_request_error", "unsupported_value",
                          "response_format")
        if fmt not in ("json", "text", "verbose_json", "srt", "vtt"):
            return _error(400, f"Invalid value for 'response_format': {fmt!r}.", "invalid_request_error",
                          "invalid_value", "response_format")
        text, duration, segments = _transcript(data, registry)
        language = _LANGUAGES.get((fields.get("language") or "en").lower(), fields.get("language") or "english")
        usage = {"type": "duration", "seconds": math.ceil(duration)}
        if fmt == "text":
            return PlainTextResponse(text + "\n")
        if fmt in ("srt", "vtt"):
            sep = "," if fmt == "srt" else "."
            cues = [f"{'' if fmt == 'vtt' else str(s['id'] + 1) + chr(10)}{_srt_time(s['start'], sep)} --> "
                    f"{_srt_time(s['end'], sep)}\n{s['text'].strip()}\n" for s in segments]
            return PlainTextResponse(("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(cues))
        if fmt == "json":
            return JSONResponse({"text": text, "usage": usage})
        return JSONResponse({"task": "transcribe", "language": language, "duration": round(duration, 3),
                             "text": text, "segments": segments, "usage": usage})

    async def chat_completions(request: Request) -> Response:
        if (denied := _auth_error(request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return _error(400, "you must provide a model parameter", "invalid_request_error", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            return _error(400, "Invalid 'messages': expected a non-empty array of messages with a role.",
                          "invalid_request_error", "invalid_value", "messages")
        user_text = next((_message_text(m) for m in reversed(messages) if m["role"] == "user"), "")
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or 400
        words = ("[emulated completion] " + " ".join(user_text.split())).split()
        content = " ".join(words[:limit])
        prompt_tokens = sum(len(_message_text(m).split()) for m in messages)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return JSONResponse({
            "id": f"chatcmpl-emu{digest[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "length" if len(words) > limit else "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": min(len(words), limit),
                      "total_tokens": prompt_tokens + min(len(words), limit)},
        })

    app = Starlette(routes=[Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
                            Route("/v1/chat/completions", chat_completions, methods=["POST"])])
    app.state.max_upload_bytes = MAX_UPLOAD_BYTES
    app.state.store = store
    return app
