"""OpenAIResource (official SDK + our retry policy) against the OpenAI emulator over real HTTP."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import struct
import wave
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import jsonschema
import pytest
import requests

from revops_assets.emulators import openai as openai_emulator
from revops_assets.resources._http import AuthError, MalformedResponse, RateLimited, ServiceError, TransportError
from revops_assets.resources.openai_client import (
    AudioTooLarge,
    OfflineUnavailable,
    OpenAIResource,
    QuotaExceeded,
    split_wav,
)
from recording import Exchange
from spec_validation import spec_path, validate_response

RATE = 8000  # 8 kHz mono 16-bit: 16,000 bytes per second of audio
KNOWN_TEXT = "Thanks for taking the call. We are evaluating warehouse robots for Q3."


def wav_bytes(seconds: float, freq: float = 440.0, rate: int = RATE) -> bytes:
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


KNOWN_WAV = wav_bytes(4.0, freq=330.0)


def uploaded_file(ex: Exchange) -> tuple[str, bytes, dict]:
    """(filename, bytes, other fields) of a recorded multipart upload; ``name[]`` fields become lists."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ex.headers["content-type"].encode() + b"\r\n\r\n" + ex.body)
    fields: dict = {}
    name, data = "", b""
    for part in message.iter_parts():
        key = part.get_param("name", header="content-disposition")
        if part.get_filename():
            name, data = part.get_filename(), part.get_payload(decode=True)
        elif key.endswith("[]"):
            fields.setdefault(key[:-2], []).append(part.get_payload(decode=True).decode())
        else:
            fields[key] = part.get_payload(decode=True).decode()
    return name, data, fields


@functools.lru_cache(maxsize=1)
def _openai_components() -> dict:
    return json.loads(spec_path("openai").read_text())["components"]


@functools.lru_cache(maxsize=None)
def component_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one named schema of the OpenAI spec (the 3.4 MB document is read once)."""
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": _openai_components()})


def assert_valid(name: str, instance) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in component_validator(name).iter_errors(instance)]
    assert not errors, f"not a valid {name}: {errors}"


def validate_transcription_upload(ex: Exchange) -> None:
    """The multipart form against CreateTranscriptionRequest. (openapi-core cannot check this body: it
    needs the boundary, which spec_validation drops from the content type, and it then mis-reads
    multipart fields as bytes and absent arrays as empty ones.)"""
    assert ex.headers["content-type"].startswith("multipart/form-data; boundary=")
    name, data, fields = uploaded_file(ex)
    assert name and data
    assert_valid("CreateTranscriptionRequest", fields | {"file": name})


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    (root / "openai").mkdir(parents=True)
    entry = {"sha256": hashlib.sha256(KNOWN_WAV).hexdigest(), "text": KNOWN_TEXT,
             "segments": [{"start": 0.0, "end": 1.8, "text": " Thanks for taking the call."},
                          {"start": 1.8, "end": 4.0, "text": " We are evaluating warehouse robots for Q3."}]}
    (root / "openai" / "transcripts.jsonl").write_text(json.dumps(entry) + "\n")
    return root


def openai_client(url: str, **overrides) -> OpenAIResource:
    config = dict(api_key="sk-test", base_url=f"{url}/v1", timeout_s=2.0, max_attempts=4, backoff_s=0.001,
                  backoff_max_s=0.01)
    return OpenAIResource(**(config | overrides))


@pytest.fixture
def emulator(service_emulator, sample_dir: Path):
    """``emulator(script=[...])``: the shared emulator factory (conftest) for OpenAI."""
    return functools.partial(service_emulator, openai_emulator, sample_dir, openai_client)


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    path = tmp_path / "audio"
    path.mkdir()
    return path


# ------------------------------------------------------------------------------------ transcription


def test_transcribe_known_audio_with_segments(emulator, audio_dir):
    emu = emulator()
    call = audio_dir / "call.wav"
    call.write_bytes(KNOWN_WAV)
    transcript = emu.client().transcribe(call, language="en")
    assert transcript.text == KNOWN_TEXT
    assert transcript.source == "emulator" and transcript.chunks == 1
    assert transcript.duration == pytest.approx(4.0)
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 1.8), (1.8, 4.0)]
    name, data, fields = uploaded_file(emu.calls[0])
    assert (name, data) == ("call.wav", KNOWN_WAV)
    assert fields["model"] == "whisper-1" and fields["response_format"] == "verbose_json"
    assert fields["language"] == "en"


def test_unknown_audio_gets_a_labelled_placeholder_sized_from_the_wav(emulator, audio_dir):
    call = audio_dir / "other.wav"
    call.write_bytes(wav_bytes(12.5))
    transcript = emulator().client().transcribe(call)
    assert transcript.text.startswith("[emulated transcript]")
    assert transcript.duration == pytest.approx(12.5)
    assert transcript.segments[-1].end == pytest.approx(12.5) and len(transcript.segments) == 2
    assert transcript.language == "english"


def test_large_wav_is_split_into_valid_chunks_with_offset_timestamps(emulator, audio_dir):
    emu = emulator()
    call = audio_dir / "long.wav"
    original = wav_bytes(5.0)  # 80,044 bytes
    call.write_bytes(original)
    limit = 30_000  # under 2 s of audio per upload
    transcript = emu.client(max_upload_bytes=limit).transcribe(call)
    uploads = [uploaded_file(ex) for ex in emu.calls]
    assert transcript.chunks == len(uploads) == 3
    frames = b""
    for name, data, _ in uploads:
        assert name.startswith("long.part") and len(data) <= limit
        with wave.open(io.BytesIO(data)) as part:
            assert (part.getframerate(), part.getnchannels(), part.getsampwidth()) == (RATE, 1, 2)
            frames += part.readframes(part.getnframes())
    with wave.open(io.BytesIO(original)) as whole:
        assert frames == whole.readframes(whole.getnframes())  # nothing dropped, nothing duplicated
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert max(starts) > 2 * (limit - 1024) / 16000 - 0.01  # the last chunk's segments were shifted
    assert transcript.duration == pytest.approx(5.0, abs=0.01)
    assert [s.id for s in transcript.segments] == list(range(len(transcript.segments)))


def test_split_wav_covers_every_frame(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(1.0))
    chunks = list(split_wav(path, 5000))
    assert all(len(data) <= 5000 for data, _ in chunks)
    frames_per_chunk = (5000 - 1024) // 2
    assert [offset for _, offset in chunks] == pytest.approx([i * frames_per_chunk / RATE for i in range(len(chunks))])
    total = sum(wave.open(io.BytesIO(data)).getnframes() for data, _ in chunks)
    assert total == RATE


def test_compressed_audio_over_the_limit_is_refused_not_dropped(emulator, audio_dir):
    emu = emulator()
    call = audio_dir / "call.mp3"
    call.write_bytes(b"ID3" + bytes(5000))
    with pytest.raises(AudioTooLarge, match="call.mp3.*upload limit"):
        emu.client(max_upload_bytes=4000).transcribe(call)
    assert emu.calls == []


def test_transcription_request_and_response_conform_to_the_spec(emulator, audio_dir):
    emu = emulator()
    call = audio_dir / "call.wav"
    call.write_bytes(KNOWN_WAV)
    emu.client().transcribe(call)
    ex = emu.calls[0]
    assert ex.headers["authorization"] == "Bearer sk-test"
    validate_transcription_upload(ex)
    # The spec's 200 is oneOf(Json, DiarizedJson, VerboseJson), and every verbose_json body is also a valid
    # Json body, so no real verbose answer can pass that oneOf: check it against the VerboseJson schema.
    assert ex.status == 200 and ex.response_headers["content-type"] == "application/json"
    assert_valid("CreateTranscriptionResponseVerboseJson", json.loads(ex.response_body))


# ---------------------------------------------------------------------------------------- generation


def test_generate_returns_a_labelled_completion_and_conforms(emulator):
    emu = emulator()
    text = emu.client().generate("You write coaching notes.", "Summarise the call with Acme Robotics.",
                                 max_tokens=50)
    assert text == "[emulated completion] Summarise the call with Acme Robotics."
    ex = emu.calls[0]
    sent = json.loads(ex.body)
    assert [m["role"] for m in sent["messages"]] == ["system", "user"] and sent["max_completion_tokens"] == 50
    # openapi-core cannot resolve this spec's message discriminator (its mapping names bare "system",
    # "user"...), so the body is checked with plain JSON Schema, which ignores discriminators.
    assert ex.headers["authorization"] == "Bearer sk-test"
    assert_valid("CreateChatCompletionRequest", sent)
    validate_response("openai", ex.method, ex.path, ex.status, ex.response_body, ex.response_headers)


# ------------------------------------------------------------------------------------------- offline


def test_offline_makes_no_calls_and_labels_sidecar_transcripts(emulator, audio_dir):
    emu = emulator()
    client = emu.client(api_key=None, offline=True)
    assert client.is_offline and client.generate("system", "prompt") is None

    txt = audio_dir / "a.wav"
    txt.write_bytes(wav_bytes(2.0))
    (audio_dir / "a.wav.txt").write_text("Hello   there,\nthis is the call.\n")
    transcript = client.transcribe(txt)
    assert (transcript.source, transcript.text) == ("offline", "Hello there, this is the call.")
    assert transcript.duration == pytest.approx(2.0)

    vtt = audio_dir / "b.mp3"
    vtt.write_bytes(b"ID3")
    (audio_dir / "b.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHi, Sam here.\n\n"
                                     "00:00:02.500 --> 00:01:04.250\nLet's talk pricing.\n")
    transcript = client.transcribe(vtt)
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [(0.0, 2.5, "Hi, Sam here."),
                                                                       (2.5, 64.25, "Let's talk pricing.")]
    assert transcript.source == "offline" and transcript.duration == 64.25

    bare = audio_dir / "c.wav"
    bare.write_bytes(wav_bytes(0.5))
    with pytest.raises(OfflineUnavailable, match="offline: no transcription available for c.wav"):
        client.transcribe(bare)
    assert emu.calls == []


# -------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("fault", ["429", "5xx", "malformed", "timeout"])
def test_transient_faults_are_retried_then_succeed(emulator, fault):
    emu = emulator(script=[fault, fault])
    assert emu.client(timeout_s=0.25).generate("s", "hello").startswith("[emulated completion]")
    assert len(emu.calls) == 3 and emu.injector.stats[fault] == 2


@pytest.mark.parametrize("fault,error", [("429", RateLimited), ("5xx", ServiceError),
                                         ("malformed", MalformedResponse), ("timeout", TransportError)])
def test_retries_stop_at_max_attempts(emulator, audio_dir, fault, error):
    emu = emulator(script=[fault] * 10)
    call = audio_dir / "call.wav"
    call.write_bytes(KNOWN_WAV)
    with pytest.raises(error):
        emu.client(max_attempts=3, timeout_s=0.25).transcribe(call)
    assert len(emu.calls) == 3


def test_insufficient_quota_is_not_retried(emulator):
    emu = emulator()
    with pytest.raises(QuotaExceeded) as info:
        emu.client(api_key="noquota-sk").generate("s", "hello")
    assert info.value.status == 429 and "insufficient_quota" in str(info.value)
    assert not isinstance(info.value, RateLimited)
    assert len(emu.calls) == 1


def test_rejected_key_is_not_retried_and_names_the_env_var(emulator):
    emu = emulator()
    with pytest.raises(AuthError) as info:
        emu.client(api_key="rejected-sk-123456").generate("s", "hello")
    assert info.value.status == 401 and "OPENAI_API_KEY" in str(info.value)
    assert "rejected-sk-123456" not in str(info.value)
    assert len(emu.calls) == 1


def test_missing_key_fails_before_any_call(emulator):
    emu = emulator()
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        emu.client(api_key=None).generate("s", "hello")
    assert emu.calls == []


# --------------------------------------------------------------------------------- emulator contract


def test_emulator_enforces_model_format_size_and_auth(emulator):
    emu = emulator()
    url = f"{emu.server.url}/v1/audio/transcriptions"
    auth = {"Authorization": "Bearer k"}
    audio = {"file": ("a.wav", wav_bytes(0.2), "audio/wav")}

    def error(response, status, code):
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == code
        return body["error"]

    err = error(requests.post(url, files=audio, data={"model": "gpt-4o-transcribe", "response_format": "verbose_json"},
                              headers=auth), 400, "unsupported_value")
    assert err["param"] == "response_format"
    error(requests.post(url, files=audio, data={"model": "whisper-1"}), 401, "invalid_api_key")
    quota = requests.post(url, files=audio, data={"model": "whisper-1"}, headers={"Authorization": "Bearer noquota"})
    assert error(quota, 429, "insufficient_quota")["type"] == "insufficient_quota"
    validate_response("openai", "POST", "/v1/audio/transcriptions", 429, quota.content, dict(quota.headers))
    error(requests.post(url, files={"file": ("a.txt", b"hi", "text/plain")}, data={"model": "whisper-1"},
                        headers=auth), 400, None)
    emu.app.state.max_upload_bytes = 1000
    error(requests.post(url, files=audio, data={"model": "whisper-1"}, headers=auth), 413, "file_too_large")
    emu.app.state.max_upload_bytes = openai_emulator.MAX_UPLOAD_BYTES
    # json (the default format) carries text only; other models may use it
    ok = requests.post(url, files=audio, data={"model": "gpt-4o-transcribe"}, headers=auth)
    assert ok.status_code == 200 and set(ok.json()) == {"text", "usage"}
    validate_response("openai", "POST", "/v1/audio/transcriptions", 200, ok.content, dict(ok.headers))
