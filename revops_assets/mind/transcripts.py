"""Call transcripts in every shape they arrive in, read into one model: speaker turns with times.

Text transcripts (``.md``/``.txt`` speaker-turn lines, WebVTT, JSON) live in ``content/calls``; audio
recordings there are transcribed once through the OpenAI resource and cached by the file's sha256
under ``<home>/transcripts/<sha>.json``, so no recording is paid for twice and a renamed file is free.
Stdlib + yaml only: imported by Dagster definitions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a")
TEXT_CALL_SUFFIXES = (".md", ".txt", ".vtt", ".json")
REFERENCE_SUFFIX = ".transcript.json"  # the emulator's answer for an audio file, not a call of its own

# 2026-11-20_acme.com_discovery.md -> date, account, slug
FILENAME_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})_(?P<account>[a-z0-9-]+(?:\.[a-z0-9-]+)+)_(?P<slug>.+)$", re.I)
_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
TURN_RE = re.compile(rf"^\s*(?:[-*]\s+)?(?:[\[(](?P<ts>{_TS})[\])]\s*)?(?P<speaker>[^:\[\]()]{{1,60}}?)"
                     r"\s*(?:\((?P<aside>[^)]{1,60})\))?\s*:\s+(?P<text>\S.*)$")
NOT_SPEAKERS = {"note", "notes", "next steps", "next step", "action items", "summary", "agenda", "title",
                "date", "account", "participants", "attendees", "subject", "recap", "outcome", "http", "https"}


class UnreadableFile(ValueError):
    """A file that cannot be read as what its name says; the message is the reason shown in metadata."""


@dataclass
class Turn:
    speaker: str
    text: str
    start: float | None = None
    end: float | None = None


@dataclass
class Participant:
    name: str
    email: str = ""
    title: str = ""
    side: str = ""  # "seller" (us) | "buyer" | "" (unknown)


@dataclass
class CallTranscript:
    source: str  # path relative to the content dir (audio: the recording's path)
    account: str
    date: str
    title: str
    participants: list[Participant]
    turns: list[Turn]
    kind: str = "text"  # "text" | "audio"
    duration: float | None = None

    def side_of(self, speaker: str) -> str:
        p = self.participant(speaker)
        return p.side if p else ""

    def participant(self, speaker: str) -> Participant | None:
        key = speaker.strip().lower()
        for p in self.participants:
            name = p.name.lower()
            if key == name or key == name.split()[0]:
                return p
        return None


@dataclass
class TranscriptionReport:
    transcribed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    split: dict[str, int] = field(default_factory=dict)  # source -> number of uploads (WAVs over 25 MiB)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (source, reason): never dropped silently


# --- reading ------------------------------------------------------------------------------------

def read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise UnreadableFile("binary data in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter between ``---`` lines, and the body after it."""
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.M)
    if end is None:
        return {}, text
    raw, body = text[3:3 + end.start()], text[3 + end.end():]
    try:
        front = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"unparseable front matter: {str(exc).splitlines()[0]}") from None
    if not isinstance(front, dict):
        raise UnreadableFile("front matter is not a mapping")
    return front, body.lstrip("\n")


def facts_from_name(rel: str) -> dict[str, str]:
    """Account and date from the ``YYYY-MM-DD_domain.tld_slug.ext`` naming convention."""
    stem = Path(rel).name.split(".transcript")[0]
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix in AUDIO_SUFFIXES + TEXT_CALL_SUFFIXES else stem
    m = FILENAME_RE.match(stem)
    if not m:
        return {}
    return {"date": m["date"], "account": m["account"].lower(), "slug": m["slug"]}


def _participants(raw: Any, account: str) -> list[Participant]:
    out: list[Participant] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            continue
        email = str(item.get("email") or "")
        side = str(item.get("side") or "")
        if not side and email and account:
            side = "buyer" if email.lower().endswith("@" + account) else "seller"
        out.append(Participant(name=str(item["name"]), email=email, title=str(item.get("title") or ""), side=side))
    return out


def _seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    parts = [float(p) for p in ts.replace(",", ".").split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def _speaker_ok(name: str, participants: list[Participant]) -> bool:
    name = name.strip()
    if not name or name.lower() in NOT_SPEAKERS or not name[0].isupper():
        return False
    if participants:
        key = name.lower()
        return any(key == p.name.lower() or key == p.name.lower().split()[0] for p in participants)
    return len(name.split()) <= 4 and not name.endswith(".")


def parse_turn_lines(body: str, participants: list[Participant]) -> list[Turn]:
    """``Speaker: text`` lines (bold, bullets and ``[00:01:02]`` stamps allowed); other lines continue a turn."""
    turns: list[Turn] = []
    for raw in body.splitlines():
        line = raw.replace("**", "").replace("__", "").strip()
        if not line or line.startswith("#") or line.startswith("---"):
            continue
        m = TURN_RE.match(line)
        if m and _speaker_ok(m["speaker"], participants):
            turns.append(Turn(speaker=m["speaker"].strip(), text=m["text"].strip(), start=_seconds(m["ts"])))
        elif turns:
            turns[-1].text += " " + line
    for a, b in zip(turns, turns[1:]):
        if a.start is not None and b.start is not None:
            a.end = b.start
    return turns


def parse_vtt(text: str) -> list[Turn]:
    if not text.lstrip().startswith("WEBVTT"):
        raise UnreadableFile("not a WebVTT file (missing WEBVTT header)")
    turns: list[Turn] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None:
            continue
        start_s, _, end_s = lines[timing].partition("-->")
        start, end = _seconds(start_s.strip()), _seconds(end_s.strip().split()[0] if end_s.strip() else None)
        content = " ".join(lines[timing + 1:])
        voice = re.match(r"<v(?:\.[\w.]+)?\s+([^>]+)>(.*)", content)
        if voice:
            speaker, said = voice[1].strip(), re.sub(r"</?[^>]+>", "", voice[2]).strip()
        else:
            m = TURN_RE.match(content)
            speaker, said = (m["speaker"].strip(), m["text"].strip()) if m else ("unknown", content)
        if not said:
            continue
        if turns and turns[-1].speaker == speaker:
            turns[-1].text += " " + said
            turns[-1].end = end
        else:
            turns.append(Turn(speaker=speaker, text=said, start=start, end=end))
    return turns


def _turns_from_json(items: Any) -> list[Turn]:
    if not isinstance(items, list) or not items:
        raise UnreadableFile("JSON transcript has no 'turns' or 'segments' list")
    turns: list[Turn] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise UnreadableFile("JSON transcript segment without a 'text' string")
        turns.append(Turn(speaker=str(item.get("speaker") or "unknown"), text=item["text"].strip(),
                          start=_float(item.get("start")), end=_float(item.get("end"))))
    return [t for t in turns if t.text]


def _float(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def parse_call_file(path: Path, rel: str) -> CallTranscript:
    """One text transcript (md/txt/vtt/json) -> CallTranscript; raises UnreadableFile with the reason."""
    text = read_text(path)
    named = facts_from_name(rel)
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"unparseable JSON: {exc.msg} at line {exc.lineno}") from None
        data = {"segments": data} if isinstance(data, list) else data
        if not isinstance(data, dict):
            raise UnreadableFile("JSON transcript is neither an object nor a list")
        front, turns = data, _turns_from_json(data.get("turns") or data.get("segments"))
    elif suffix == ".vtt":
        front, turns = {}, parse_vtt(text)
        notes = " ".join(b for b in re.split(r"\n\s*\n", text) if b.lstrip().startswith("NOTE"))
        front = {"account": _header_value(notes, "account") or named.get("account", "")}
        front["participants"] = attendees_from_text(notes, front["account"])
    else:
        front, body = split_front_matter(text)
        if not front and suffix == ".txt":
            front = _txt_header(body, named.get("account", ""))
        account = str(front.get("account") or named.get("account") or "").lower()
        turns = parse_turn_lines(body, _participants(front.get("participants"), account))
    if not turns:
        raise UnreadableFile("no speaker turns found")
    account = str(front.get("account") or named.get("account") or "").lower()
    title = str(front.get("title") or _first_heading(text) or _title_line(text, suffix) or default_title(rel, account))
    return CallTranscript(source=rel, account=account, date=str(front.get("date") or named.get("date") or ""),
                          title=title, participants=_participants(front.get("participants"), account), turns=turns,
                          kind="text", duration=_float(front.get("duration")) or _last_end(turns))


HONORIFICS = re.compile(r"^(?:dr|mr|mrs|ms|prof)\.?\s+", re.I)
ATTENDEE = re.compile(r"((?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})\s*(?:<([^<>@\s]+@[^<>\s]+)>)?"
                      r"\s*\(([^)]{1,80})\)")


def attendees_from_text(text: str, account: str) -> list[dict[str, str]]:
    """``Raj Mehta (VP Sales, Copperleaf)`` pairs in a header: the buyer is whoever works at the account."""
    label = re.sub(r"\W", "", account.split(".")[0].lower())
    people = []
    for name, email, aside in ATTENDEE.findall(text):
        parts = [p.strip() for p in aside.split(",")]
        org = re.sub(r"\W", "", parts[-1].lower())
        buyer = bool(label and org and (org in label or label in org))
        people.append({"name": HONORIFICS.sub("", name).strip(), "email": email, "title": ", ".join(parts[:-1]),
                       "side": "buyer" if buyer else "seller"})
    return people if any(p["side"] == "buyer" for p in people) else []


def _header_value(text: str, key: str) -> str:
    m = re.search(rf"\b{key}\s*:\s*([^\s,]+)", text, re.I)
    return m[1].strip() if m else ""


def _txt_header(body: str, named_account: str) -> dict[str, Any]:
    """``Account:``/``Date:``/``Attendees:`` lines above the first turn of a plain-text transcript."""
    head = "\n".join(body.splitlines()[:8])
    account = (_header_value(head, "account") or named_account).lower()
    front: dict[str, Any] = {"account": account, "date": _header_value(head, "date")}
    attendees = re.search(r"^(?:attendees|participants)\s*:\s*(.+)$", head, re.I | re.M)
    front["participants"] = attendees_from_text(attendees[1], account) if attendees else []
    return {k: v for k, v in front.items() if v}


def default_title(rel: str, account: str) -> str:
    named = facts_from_name(rel)
    slug = named.get("slug", Path(rel).stem).replace("_", " ").replace("-", " ")
    return f"{account} {slug} call".strip() if account else slug


def _title_line(text: str, suffix: str) -> str:
    """A plain-text transcript's first line, when it is a title rather than a turn."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first if suffix == ".txt" and first and not TURN_RE.match(first) and len(first) <= 80 else ""


def _first_heading(text: str) -> str:
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return m[1].strip() if m else ""


def _last_end(turns: list[Turn]) -> float | None:
    ends = [t.end or t.start for t in turns if (t.end or t.start) is not None]
    return max(ends) if ends else None


# --- audio --------------------------------------------------------------------------------------

def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_transcript(transcripts_dir: Path, sha: str) -> dict[str, Any] | None:
    path = transcripts_dir / f"{sha}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("segments"), list) else None


def audio_call(path: Path, rel: str, transcripts_dir: Path) -> CallTranscript:
    """A recording as a call, from its cached transcript (raises UnreadableFile when not transcribed yet)."""
    record = cached_transcript(transcripts_dir, file_sha256(path))
    if record is None:
        raise UnreadableFile("audio not transcribed yet (materialize call_transcripts)")
    named = facts_from_name(rel)
    turns = [Turn(speaker=str(s.get("speaker") or "unknown"), text=str(s.get("text", "")).strip(),
                  start=_float(s.get("start")), end=_float(s.get("end"))) for s in record["segments"]]
    turns = [t for t in turns if t.text] or [Turn(speaker="unknown", text=str(record.get("text", "")).strip())]
    return CallTranscript(source=rel, account=named.get("account", ""), date=named.get("date", ""),
                          title=default_title(rel, named.get("account", "")), participants=[], turns=turns,
                          kind="audio", duration=_float(record.get("duration")))


def is_audio_sidecar(path: Path) -> bool:
    """``call.txt``/``call.vtt``/``call.wav.vtt`` beside ``call.wav``: the recording's transcript, not a call."""
    if path.suffix.lower() not in (".txt", ".vtt"):
        return False
    stripped = path.with_suffix("")
    return stripped.suffix.lower() in AUDIO_SUFFIXES or any(path.with_suffix(ext).exists() for ext in AUDIO_SUFFIXES)


def iter_call_files(content_dir: Path) -> Iterable[tuple[Path, str]]:
    calls = content_dir / "calls"
    if not calls.is_dir():
        return
    for path in sorted(calls.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.name.lower() != "readme.md":
            yield path, path.relative_to(content_dir).as_posix()


def load_calls(content_dir: Path, transcripts_dir: Path) -> tuple[list[CallTranscript], list[tuple[str, str]]]:
    """Every call under content/calls (text transcripts and transcribed audio), plus (source, reason) skips."""
    calls: list[CallTranscript] = []
    skipped: list[tuple[str, str]] = []
    for path, rel in iter_call_files(content_dir):
        name = path.name.lower()
        try:
            if name.endswith(REFERENCE_SUFFIX) or is_audio_sidecar(path):
                continue
            if name.endswith(AUDIO_SUFFIXES):
                calls.append(audio_call(path, rel, transcripts_dir))
            elif name.endswith(TEXT_CALL_SUFFIXES):
                calls.append(parse_call_file(path, rel))
            else:
                skipped.append((rel, f"unsupported call file type {path.suffix or '(none)'}"))
        except UnreadableFile as exc:
            skipped.append((rel, str(exc)))
        except OSError as exc:
            skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
    return calls, skipped


def _as_dict(transcript: Any) -> dict[str, Any]:
    if isinstance(transcript, dict):
        data = dict(transcript)
    elif hasattr(transcript, "model_dump"):
        data = transcript.model_dump()
    elif dataclasses.is_dataclass(transcript):
        data = dataclasses.asdict(transcript)
    else:
        data = {k: getattr(transcript, k, None) for k in ("text", "language", "duration", "segments", "source")}
    segments = []
    for i, s in enumerate(data.get("segments") or []):
        s = s if isinstance(s, dict) else (s.model_dump() if hasattr(s, "model_dump") else vars(s))
        segments.append({"id": s.get("id", i), "start": _float(s.get("start")), "end": _float(s.get("end")),
                         "text": str(s.get("text", "")).strip(), **({"speaker": s["speaker"]} if s.get("speaker") else {})})
    data["segments"] = segments
    return data


def transcribe_calls(content_dir: Path, transcripts_dir: Path, transcribe: Callable[[Path], Any]) -> TranscriptionReport:
    """Transcribe each recording under content/calls that is not in the sha256 cache yet.

    ``transcribe`` is ``OpenAIResource.transcribe``: it splits WAVs over the upload limit itself and
    refuses larger compressed files; every refusal or failure is reported per file, never dropped.
    """
    report = TranscriptionReport()
    transcripts_dir.mkdir(parents=True, exist_ok=True)
    for path, rel in iter_call_files(content_dir):
        if not path.name.lower().endswith(AUDIO_SUFFIXES):
            continue
        try:
            sha = file_sha256(path)
            if cached_transcript(transcripts_dir, sha) is not None:
                report.cached.append(rel)
                continue
            record = _as_dict(transcribe(path))
        except OSError as exc:
            report.problems.append((rel, f"unreadable audio: {exc.strerror or exc}"))
            continue
        except Exception as exc:  # too large, offline, or the API failed after the resource's retries
            report.problems.append((rel, f"not transcribed: {type(exc).__name__}: {str(exc)[:300]}"))
            continue
        parts = int(record.get("chunks") or 1)
        if parts > 1:
            report.split[rel] = parts
        record.update(sha256=sha, audio=rel, bytes=path.stat().st_size,
                      transcribed_at=datetime.now(timezone.utc).isoformat())
        _write_atomic(transcripts_dir / f"{sha}.json", record)
        report.transcribed.append(rel)
    return report


def transcripts_dir(home: Path) -> Path:
    """Where transcripts are cached by audio sha256 (outside content/: they are derived, and paid for)."""
    return Path(home) / "transcripts"


def _write_atomic(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
