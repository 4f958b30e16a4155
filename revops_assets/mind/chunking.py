"""content/ -> chunks with stable ids and the metadata the Digital Mind filters on.

Docs are cut on headings and paragraphs, calls on speaker turns; a paragraph or a turn is split
(at sentence ends) only when it alone is over the size limit. A chunk's id is a hash of its source
and text, so unchanged content keeps its id across runs and is never embedded again.
Stdlib + yaml only.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from revops_assets.mind.transcripts import (AUDIO_SUFFIXES, REFERENCE_SUFFIX, TEXT_CALL_SUFFIXES, CallTranscript,
                                            UnreadableFile, audio_call, facts_from_name, is_audio_sidecar, parse_call_file,
                                            read_text,
                                            split_front_matter)

MAX_CHARS = 900  # ~220 word pieces: inside all-MiniLM-L6-v2's 256-token window, so nothing is truncated
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
TEMPLATE_SUFFIXES = (".html", ".j2", ".jinja")  # email templates: indexed as the prose a reader would see
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, str | int | float]


@dataclass
class Scan:
    chunks: list[Chunk] = field(default_factory=list)
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    ignored: list[str] = field(default_factory=list)  # not knowledge: READMEs, hidden files, emulator fixtures


def content_type(rel: str) -> str:
    top = rel.split("/", 1)[0]
    return {"calls": "call", "emails": "email"}.get(top, "doc")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_long(text: str, max_chars: int) -> list[str]:
    """Sentences packed into pieces of at most ``max_chars``; words only when one sentence is longer."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in SENTENCE_END.split(text):
        units = [sentence] if len(sentence) <= max_chars else _by_words(sentence, max_chars)
        for unit in units:
            if current and len(current) + 1 + len(unit) > max_chars:
                pieces.append(current)
                current = unit
            else:
                current = f"{current} {unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces


def _by_words(text: str, max_chars: int) -> list[str]:
    out, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > max_chars:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return out + ([current] if current else [])


def _pack(units: Iterable[str], max_chars: int, sep: str) -> list[str]:
    """Whole units (paragraphs, turns) packed greedily; a unit over the limit is split on sentences."""
    chunks, current = [], ""
    for unit in units:
        for piece in split_long(unit, max_chars):
            if current and len(current) + len(sep) + len(piece) > max_chars:
                chunks.append(current)
                current = piece
            else:
                current = f"{current}{sep}{piece}" if current else piece
    return chunks + ([current] if current else [])


def document_sections(body: str) -> list[tuple[list[str], list[str]]]:
    """(heading path, paragraphs) per markdown section; lists and tables stay one paragraph."""
    sections: list[tuple[list[str], list[str]]] = []
    headings: list[str] = []
    levels: list[int] = []
    paragraphs: list[str] = []
    lines: list[str] = []

    def end_paragraph() -> None:
        if lines:
            paragraphs.append(" ".join(ln.strip() for ln in lines) if not _is_list(lines) else "\n".join(lines))
            lines.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append((list(headings), list(paragraphs)))
            paragraphs.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^(#{1,6})\s+(.+?)\s*#*$", line)
        if heading:
            end_section()
            while levels and levels[-1] >= len(heading[1]):
                levels.pop()
                headings.pop()
            levels.append(len(heading[1]))
            headings.append(heading[2].strip())
        elif not line.strip():
            end_paragraph()
        else:
            lines.append(line)
    end_section()
    return sections


def _is_list(lines: list[str]) -> bool:
    return any(re.match(r"^\s*([-*+]|\d+[.)]|\|)\s", ln) for ln in lines)


def doc_chunks(rel: str, text: str, ctype: str, max_chars: int = MAX_CHARS) -> list[Chunk]:
    front, body = split_front_matter(text)
    named = facts_from_name(rel)
    sections = document_sections(body)
    h1 = re.search(r"^#\s+(.+?)\s*$", body, re.M)
    title = str(front.get("title") or (h1[1] if h1 else "") or Path(rel).stem.replace("_", " "))
    base = {"source": rel, "type": ctype, "account": str(front.get("account") or named.get("account") or "").lower(),
            "date": str(front.get("date") or named.get("date") or ""), "speaker": "", "speakers": "", "title": title}
    texts: list[tuple[str, str]] = []
    for headings, paragraphs in sections:
        section = " › ".join(h for h in headings if h not in (title, h1[1] if h1 else title))
        header = f"{title} — {section}" if section else title
        for piece in _pack(paragraphs, max_chars - len(header) - 1, "\n\n"):
            texts.append((section, f"{header}\n{piece}"))
    return _finish(rel, [(t, dict(base, section=s)) for s, t in texts])


def call_chunks(call: CallTranscript, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Consecutive whole turns per chunk; the chunk's speaker is the one who said the most in it."""
    context = ", ".join(x for x in (call.account, call.date) if x)
    header = f"Call: {call.title}" + (f" ({context})" if context else "")
    budget = max_chars - len(header) - 1
    units: list[tuple[str, str, float | None]] = []  # (speaker, line, start)
    for turn in call.turns:
        for piece in split_long(f"{turn.speaker}: {turn.text}", budget):
            units.append((turn.speaker, piece, turn.start))
    groups: list[list[tuple[str, str, float | None]]] = []
    size = 0
    for unit in units:
        if groups and size + 1 + len(unit[1]) <= budget:
            groups[-1].append(unit)
            size += 1 + len(unit[1])
        else:
            groups.append([unit])
            size = len(unit[1])
    items = []
    for group in groups:
        said = Counter()
        for speaker, line, _ in group:
            said[speaker] += len(line)
        speakers = list(dict.fromkeys(s for s, _, _ in group))
        meta = {"source": call.source, "type": "call", "account": call.account, "date": call.date,
                "speaker": said.most_common(1)[0][0], "speakers": ", ".join(speakers), "title": call.title,
                "section": "", "start": group[0][2] if group[0][2] is not None else -1.0}
        items.append((header + "\n" + "\n".join(line for _, line, _ in group), meta))
    return _finish(call.source, items)


def _finish(rel: str, items: list[tuple[str, dict]]) -> list[Chunk]:
    seen: Counter[str] = Counter()
    chunks = []
    for ordinal, (text, meta) in enumerate(items):
        text_hash = sha(text)
        seen[text_hash] += 1
        chunk_id = sha(f"{rel}\0{text_hash}\0{seen[text_hash]}")[:32]
        chunks.append(Chunk(id=chunk_id, text=text, metadata=dict(meta, chunk=ordinal, text_hash=text_hash)))
    return chunks


def scan_content(content_dir: Path, transcripts_dir: Path | None = None, max_chars: int = MAX_CHARS) -> Scan:
    """Every indexable file under ``content_dir`` as chunks; unreadable ones as (source, reason), never a crash."""
    scan = Scan()
    if not content_dir.is_dir():
        return scan
    for path in sorted(p for p in content_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(content_dir).as_posix()
        name = path.name.lower()
        if (any(part.startswith((".", "_")) for part in Path(rel).parts) or name.startswith("readme")
                or name.endswith(REFERENCE_SUFFIX) or is_audio_sidecar(path)):  # hidden, layouts, READMEs, fixtures
            scan.ignored.append(rel)
            continue
        ctype = content_type(rel)
        try:
            if ctype == "call" and name.endswith(AUDIO_SUFFIXES):
                if transcripts_dir is None:
                    raise UnreadableFile("audio: no transcripts dir given")
                chunks = call_chunks(audio_call(path, rel, transcripts_dir), max_chars)
            elif ctype == "call" and name.endswith(TEXT_CALL_SUFFIXES):
                chunks = call_chunks(parse_call_file(path, rel), max_chars)
            elif name.endswith(TEMPLATE_SUFFIXES):
                chunks = doc_chunks(rel, template_text(read_text(path)), ctype, max_chars)
            elif name.endswith(TEXT_SUFFIXES):
                chunks = doc_chunks(rel, read_text(path), ctype, max_chars)
            elif name.endswith(".pdf"):
                chunks = doc_chunks(rel, _pdf_text(path), ctype, max_chars)
            else:
                raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
        except UnreadableFile as exc:
            scan.skipped.append((rel, str(exc)))
            continue
        except OSError as exc:
            scan.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
            continue
        if not chunks:
            scan.skipped.append((rel, "no text"))
            continue
        scan.files += 1
        scan.chunks.extend(chunks)
    return scan


def template_text(text: str) -> str:
    """A Jinja/HTML email template as readable text: blocks become headings, tags and logic go."""
    front, body = split_front_matter(text)
    if "title" not in front and front.get("id"):
        front = dict(front, title=f"Email template: {front['id']}")
    front_block = f"---\n{_yaml_dump(front)}---\n" if front else ""
    body = re.sub(r"\{#.*?#\}", "", body, flags=re.S)
    body = re.sub(r"\{%-?\s*block\s+(\w+)\s*-?%\}", lambda m: f"\n\n## {m[1].replace('_', ' ')}\n\n", body)
    body = re.sub(r"\{%.*?%\}", "", body, flags=re.S)
    body = re.sub(r"\{\{\s*([\w.]+)[^}]*\}\}", lambda m: f"[{m[1]}]", body)
    body = re.sub(r"</(p|div|li|h\d|tr)>|<br\s*/?>", "\n\n", body, flags=re.I)
    body = html.unescape(re.sub(r"<[^>]+>", "", body))
    return front_block + re.sub(r"\n{3,}", "\n\n", body)


def _yaml_dump(data: dict) -> str:
    import yaml

    return yaml.safe_dump({k: v for k, v in data.items() if isinstance(v, (str, int, float))}, sort_keys=True)


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader  # optional: PDFs are indexed only where pypdf is installed
    except ImportError:
        raise UnreadableFile("PDF skipped: pypdf is not installed") from None
    try:
        return "\n\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    except Exception as exc:
        raise UnreadableFile(f"unreadable PDF: {type(exc).__name__}") from None
