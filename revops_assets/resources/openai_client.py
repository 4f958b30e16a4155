"""OpenAI as a Dagster resource: call transcription (whisper-1, timestamped) and short text generation.

Uses the official SDK with its own retries off (``max_retries=0``) so one policy decides: throttling
(``rate_limit_exceeded``), 5xx, timeouts and malformed bodies are retried with bounded backoff;
``insufficient_quota`` is never retried (it only burns time: the account must be topped up).

Uploads are limited to 25 MiB. A larger WAV is split with the stdlib ``wave`` module into valid
smaller WAVs whose segment timestamps are shifted back onto the original timeline; a larger compressed
file (mp3, m4a, ...) cannot be cut safely without a decoder and raises :class:`AudioTooLarge`.

Offline mode (demo without a key) makes no calls: ``generate`` returns ``None`` so callers use their
template path, and ``transcribe`` reads a sidecar transcript next to the audio or says it cannot.
"""

from __future__ import annotations

import io
import ipaddress
import re
import threading
import wave
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, TypeVar
from urllib.parse import urlparse

import dagster as dg
from pydantic import BaseModel, Field, PrivateAttr

from revops_assets.resources._http import (
    AuthError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServiceError,
    TransportError,
    ValidationError,
    retry_after_seconds,
    retrying,
)

SERVICE = "openai"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
TRANSCRIPTION_MODEL = "whisper-1"  # the only model that returns verbose_json with segments
_WAV_HEADER_ALLOWANCE = 1024  # the stdlib writes a 44-byte header; keep a generous margin under the limit
_MIME = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "audio/mp4",
         ".ogg": "audio/ogg", ".webm": "audio/webm", ".flac": "audio/flac", ".mpeg": "audio/mpeg",
         ".mpga": "audio/mpeg"}
T = TypeVar("T")


class QuotaExceeded(ServiceError):
    """429 ``insufficient_quota``: the OpenAI account is out of credit. Not retried."""


class AudioTooLarge(ValueError):
    """An audio file over the upload limit that cannot be split safely (non-WAV or unreadable WAV)."""


class OfflineUnavailable(RuntimeError):
    """Offline mode has no way to produce what was asked (no sidecar transcript)."""


class TranscriptSegment(BaseModel):
    id: int
    start: float  # seconds from the start of the whole file (chunk offsets already applied)
    end: float
    text: str


class Transcript(BaseModel):
    text: str
    language: str | None = None
    duration: float = 0.0
    segments: list[TranscriptSegment] = Field(default_factory=list)
    source: Literal["openai", "emulator", "offline"]
    chunks: int = 1  # how many uploads it took (a WAV over the limit is split)


# -------------------------------------------------------------------------------------- WAV splitting


def split_wav(path: Path, max_bytes: int) -> Iterator[tuple[bytes, float]]:
    """Yield ``(wav_bytes, offset_s)`` chunks, each a valid WAV under ``max_bytes``, covering every frame."""
    try:
        with wave.open(str(path), "rb") as src:
            params = src.getparams()
            frame_bytes = params.sampwidth * params.nchannels
            frames_per_chunk = (max_bytes - _WAV_HEADER_ALLOWANCE) // frame_bytes
            if frames_per_chunk < 1:
                raise AudioTooLarge(f"{path.name}: upload limit {max_bytes} bytes is too small to hold any audio")
            done = 0
            while done < params.nframes:
                frames = src.readframes(frames_per_chunk)
                if not frames:
                    break
                buffer = io.BytesIO()
                with wave.open(buffer, "wb") as out:
                    out.setnchannels(params.nchannels)
                    out.setsampwidth(params.sampwidth)
                    out.setframerate(params.framerate)
                    out.writeframes(frames)
                yield buffer.getvalue(), done / params.framerate
                done += len(frames) // frame_bytes
    except (wave.Error, EOFError) as exc:
        raise AudioTooLarge(f"{path.name} is over the upload limit and is not a PCM WAV the stdlib can split "
                            f"({exc}); convert it to 16-bit PCM WAV or compress it under {max_bytes} bytes") from None


def _wav_duration(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate())
    except (wave.Error, EOFError, OSError, ZeroDivisionError):
        return 0.0


_VTT_CUE = re.compile(r"(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})")


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000.0


def _sidecar_transcript(path: Path) -> Transcript | None:
    """A transcript saved next to the audio (``call.wav.vtt``, ``call.vtt``, ``call.wav.txt`` or ``call.txt``)."""
    for candidate in (Path(f"{path}.vtt"), path.with_suffix(".vtt"), Path(f"{path}.txt"), path.with_suffix(".txt")):
        if candidate == path or not candidate.exists():
            continue
        raw = candidate.read_text(encoding="utf-8")
        if candidate.suffix == ".vtt":
            segments: list[TranscriptSegment] = []
            lines = raw.splitlines()
            for i, line in enumerate(lines):
                match = _VTT_CUE.search(line)
                if not match:
                    continue
                g = match.groups()
                text_lines = []
                for follow in lines[i + 1:]:
                    if not follow.strip():
                        break
                    text_lines.append(follow.strip())
                segments.append(TranscriptSegment(id=len(segments), start=_seconds(*g[:4]), end=_seconds(*g[4:]),
                                                  text=" ".join(text_lines)))
            text = " ".join(s.text for s in segments)
            duration = max((s.end for s in segments), default=0.0)
        else:
            text = " ".join(raw.split())
            duration = _wav_duration(path)
            segments = [TranscriptSegment(id=0, start=0.0, end=duration, text=text)] if text else []
        return Transcript(text=text, language=None, duration=duration, segments=segments, source="offline")
    return None


# ------------------------------------------------------------------------------------------ resource


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIResource(dg.ConfigurableResource):
    """OpenAI transcription and generation. ``api_key`` comes from ``dg.EnvVar(key_env_var)``."""

    api_key: str | None = None
    base_url: str | None = None  # the API root including /v1; None = the SDK's default (api.openai.com)
    timeout_s: float = 120.0
    max_attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    offline: bool = False
    key_env_var: str = "OPENAI_API_KEY"
    chat_model: str = "gpt-4o-mini"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    demo_home: str | None = None  # demo: with base_url unset, call this home's emulator (started lazily)

    _client: Any = PrivateAttr(default=None)
    _resolved_base_url: str | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def is_offline(self) -> bool:
        """True when no call is ever made (demo without a key); answers are then labelled ``offline``."""
        return self.offline

    # -- public API -------------------------------------------------------------------------------

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Timestamped transcript of an audio file (split into several uploads if it is a large WAV)."""
        path = Path(path)
        if self.is_offline:
            transcript = _sidecar_transcript(path)
            if transcript is None:
                raise OfflineUnavailable(
                    f"offline: no transcription available for {path.name} (no sidecar {path.name}.txt/.vtt "
                    f"transcript, and no OpenAI calls are made offline; set {self.key_env_var} to transcribe)")
            return transcript
        size = path.stat().st_size
        if size <= self.max_upload_bytes:
            chunks: Iterator[tuple[bytes, float]] = iter([(path.read_bytes(), 0.0)])
        elif path.suffix.lower() == ".wav":
            chunks = split_wav(path, self.max_upload_bytes)
        else:
            raise AudioTooLarge(
                f"{path.name} is {size} bytes, over the {self.max_upload_bytes}-byte upload limit, and "
                f"{path.suffix or 'this format'} cannot be split safely here: re-encode it at a lower bitrate "
                "or as WAV (which is split automatically)")
        client = self._openai()
        mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
        segments: list[TranscriptSegment] = []
        texts: list[str] = []
        duration, detected, count = 0.0, None, 0
        for index, (data, offset) in enumerate(chunks):
            name = path.name if index == 0 and len(data) == size else f"{path.stem}.part{index:03d}{path.suffix}"
            options: dict[str, Any] = {"model": TRANSCRIPTION_MODEL, "file": (name, data, mime),
                                       "response_format": "verbose_json", "timestamp_granularities": ["segment"]}
            if language:
                options["language"] = language
            verbose = self._with_retries(lambda opts=options: client.audio.transcriptions.create(**opts))
            count += 1
            detected = detected or getattr(verbose, "language", None)
            texts.append((verbose.text or "").strip())
            for seg in verbose.segments or []:
                segments.append(TranscriptSegment(id=len(segments), start=round(seg.start + offset, 3),
                                                  end=round(seg.end + offset, 3), text=seg.text))
            duration = max(duration, offset + float(verbose.duration or 0.0))
        return Transcript(text=" ".join(t for t in texts if t), language=language or detected,
                          duration=round(duration, 3), segments=segments, source=self._source(), chunks=count)

    def verify(self) -> str:
        """A one-token completion, or a note that the resource is offline (no key): never a failure."""
        if self.is_offline:
            return "offline: no OPENAI_API_KEY, template paths only"
        self.generate("Reply with OK.", "ping", max_tokens=1)
        return "answers"

    def generate(self, system: str, prompt: str, max_tokens: int = 400) -> str | None:
        """A short completion, or ``None`` offline (callers then use their deterministic template)."""
        if self.is_offline:
            return None
        client = self._openai()
        completion = self._with_retries(lambda: client.chat.completions.create(
            model=self.chat_model, max_completion_tokens=max_tokens,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}]))
        if not completion.choices:
            raise MalformedResponse(SERVICE, 200, "chat completion had no choices")
        return completion.choices[0].message.content

    # -- plumbing ---------------------------------------------------------------------------------

    def _source(self) -> Literal["openai", "emulator"]:
        url = self._resolved_base_url
        return "emulator" if url and _is_loopback(url) else "openai"

    def _openai(self) -> Any:
        with self._lock:
            if self._client is None:
                if not self.api_key:
                    raise AuthError(SERVICE, None, f"no OpenAI API key configured: set the {self.key_env_var} "
                                                   "environment variable (or run offline)")
                import openai

                base_url = self.base_url
                if not base_url and self.demo_home:
                    from revops_assets.resources.core import resolve_base_url

                    base_url = resolve_base_url(SERVICE, "", self.demo_home).rstrip("/") + "/v1"
                self._resolved_base_url = base_url
                self._client = openai.OpenAI(api_key=self.api_key, base_url=base_url, timeout=self.timeout_s,
                                             max_retries=0)
            return self._client

    def _with_retries(self, call: Callable[[], T]) -> T:
        policy = retrying(SERVICE, max_attempts=self.max_attempts, backoff_s=self.backoff_s,
                          backoff_max_s=self.backoff_max_s, never=(QuotaExceeded,))
        return policy(lambda: self._once(call))

    def _once(self, call: Callable[[], T]) -> T:
        import openai

        try:
            return call()
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise TransportError(SERVICE, None, f"timed out after {self.timeout_s}s") from None
        except openai.APIConnectionError as exc:
            raise TransportError(SERVICE, None, f"connection failed ({type(exc.__cause__).__name__})") from None
        except openai.APIResponseValidationError as exc:
            raise MalformedResponse(SERVICE, exc.status_code, "response did not match the expected schema") from None
        except ValueError as exc:  # JSONDecodeError: a 200 whose body is not JSON
            raise MalformedResponse(SERVICE, 200, f"response body is not valid JSON ({exc})") from None

    def _status_error(self, exc: Any) -> ServiceError:
        status = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") or exc.code
        kind = body.get("type") or exc.type
        message = str(body.get("message") or exc.message)[:500]
        if status == 429 and "insufficient_quota" in (code, kind):
            return QuotaExceeded(SERVICE, status, f"OpenAI quota exhausted (insufficient_quota): {message} "
                                                  "Add credit to the account; retrying will not help.", body)
        if status == 429:
            return RateLimited(SERVICE, status, f"throttled ({code or kind}): {message}", body,
                               retry_after_seconds(exc.response.headers.get("retry-after")))
        if status == 401:
            return AuthError(SERVICE, status, f"OpenAI rejected the API key ({code}). Check the API key in the "
                                              f"{self.key_env_var} environment variable.", body)
        if status == 403:
            return AuthError(SERVICE, status, f"OpenAI refused access for this API key: {message}", body)
        if status in (400, 413, 415, 422):
            return ValidationError(SERVICE, status, message, body)
        if status == 404:
            return NotFound(SERVICE, status, message, body)
        return ServiceError(SERVICE, status, message, body)
