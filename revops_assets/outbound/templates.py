"""Email templates from ``content/emails/``: sandboxed rendering plus the compliance gate.

Templates are content, not code: they render in Jinja2's immutable sandbox with ``StrictUndefined``,
so a template cannot reach Python internals and cannot silently print an empty variable. Every
rendered message must carry the contact's unsubscribe link and the sender's postal address; a render
without them is rejected (``TemplateRejected``), never sent.

File format (``<id>.html.j2``)::

    ---
    id: funding            # defaults to the file name
    version: 3             # explicit; omitted -> "h" + content hash
    signal: funding
    personas: [executive, technical, revenue_leader]
    steps:                 # one entry per step; subject per variant (Jinja, plain text)
      - subject: {A: "...", B: "..."}
      - subject: {A: "...", B: "..."}
    ---
    {% block step1 %}...{% endblock %}
    {% block step2 %}...{% endblock %}

The step's block is the body; ``_layout.html.j2`` wraps it with the signature and the footer.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Mapping

import yaml
from jinja2 import FunctionLoader, StrictUndefined, TemplateSyntaxError, UndefinedError, pass_environment
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

LAYOUT = "_layout.html.j2"
SUFFIX = ".html.j2"
MAX_OUTPUT_CHARS = 200_000
MARKER_PREFIX = "revops-key:"


class TemplateRejected(Exception):
    """A template (or its output) that must not be sent; ``reason`` says why in one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    template_id: str
    template_version: str
    variant: str


@dataclass(frozen=True)
class EmailTemplate:
    id: str
    version: str
    signal: str
    personas: tuple[str, ...]
    subjects: tuple[Mapping[str, str], ...]  # per step: variant -> subject template
    body: str
    path: Path

    @property
    def steps(self) -> int:
        return len(self.subjects)

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(sorted(self.subjects[0])) if self.subjects else ()


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the operators that can exhaust memory/CPU bounded."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Any ``_``-prefixed attribute is a security error, even one that does not exist."""
        if isinstance(attribute, str) and attribute.startswith("_"):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, (int, float)) and (abs(right) > 64 or abs(left) > 10**6):
            raise SecurityError("exponent too large")
        if op == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_OUTPUT_CHARS:
                    raise SecurityError("repetition too large")
        if op == "%" and isinstance(left, str) and re.search(r"%[-+ #0]*(\d{5,}|\*)", left):
            raise SecurityError("format width too large")
        return super().call_binop(context, op, left, right)


@pass_environment
def _attr_filter(environment: _Sandbox, obj: Any, name: str) -> Any:
    """``|attr`` through the sandbox's own ``getattr`` (Jinja's filter bypasses it on undefined values)."""
    return environment.getattr(obj, name)


def _environment(loader: FunctionLoader | None, autoescape: bool) -> _Sandbox:
    """No globals: the shipped templates use none, and Jinja's defaults (``range``, ``dict``, ``lipsum``,
    ``cycler``, ``joiner``, ``namespace``) would render their Python repr; a template naming one is refused
    as an undefined variable instead."""
    env = _Sandbox(loader=loader, autoescape=autoescape, undefined=StrictUndefined,
                   keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True)
    env.globals.clear()
    env.filters["attr"] = _attr_filter
    return env


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SecurityError) or (isinstance(exc, OverflowError) and "sandbox" in str(exc)):
        return f"unsafe template: {exc}"
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error (line {exc.lineno}): {exc.message}"
    if isinstance(exc, UndefinedError):
        return f"undefined variable: {exc}"
    if isinstance(exc, RecursionError):
        return "render error: recursion too deep"
    return f"render error: {type(exc).__name__}: {exc}"


def _guard(fn, *args: Any) -> Any:
    """Run a Jinja call; every failure becomes ``TemplateRejected`` with a reason (templates are data)."""
    try:
        out = fn(*args)
    except TemplateRejected:
        raise
    except Exception as exc:  # noqa: BLE001 -- whatever a template provokes is a rejection, never a crash
        raise TemplateRejected(_reason(exc)) from None
    if isinstance(out, str) and len(out) > MAX_OUTPUT_CHARS:
        raise TemplateRejected(f"render error: output longer than {MAX_OUTPUT_CHARS} characters")
    return out


def render_string(source: str, context: Mapping[str, Any], *, autoescape: bool = True) -> str:
    """Render one template string in the sandbox; raises ``TemplateRejected`` with a reason."""
    env = _environment(None, autoescape)
    template = _guard(env.from_string, source)
    return _guard(template.render, dict(context))


# --- compliance --------------------------------------------------------------------------------


def compliance_problems(html: str, text: str, unsubscribe_url: str, postal_address: str) -> list[str]:
    """What a message lacks to be sendable (empty list = compliant)."""
    problems = []
    if not unsubscribe_url:
        problems.append("no unsubscribe URL given")
    elif not (unsubscribe_url in html or html_lib.escape(unsubscribe_url) in html) or unsubscribe_url not in text:
        problems.append("unsubscribe link missing")
    lines = [ln.strip() for ln in re.split(r"[\n,]", postal_address or "") if ln.strip()]
    if not lines:
        problems.append("no postal address given")
    else:
        flat_html, flat_text = " ".join(html.split()), " ".join(text.split())
        if any(" ".join(html_lib.escape(ln).split()) not in flat_html for ln in lines) or any(
            " ".join(ln.split()) not in flat_text for ln in lines
        ):
            problems.append("postal address missing")
    return problems


def ensure_compliant(html: str, text: str, unsubscribe_url: str, postal_address: str) -> None:
    problems = compliance_problems(html, text, unsubscribe_url, postal_address)
    if problems:
        raise TemplateRejected("not compliant: " + "; ".join(problems))


class _TextExtractor(HTMLParser):
    """HTML -> readable plain text: paragraphs and breaks become newlines, links keep their URL."""

    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "hr", "ul", "ol", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip += 1
        if tag in self.BLOCK:
            self.parts.append("\n")
        if tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip = max(0, self._skip - 1)
        if tag == "a" and self._href:
            href = self._href.pop()
            if href and not href.startswith("mailto:"):
                self.parts.append(f" ({href})")
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))  # HTML whitespace is not layout


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def idempotency_marker(key: str) -> str:
    """Invisible marker carried in the HTML so a sent message can be found in the CRM again."""
    return f"<!-- {MARKER_PREFIX}{key} -->"


# --- the library -------------------------------------------------------------------------------


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _parse(path: Path) -> EmailTemplate:
    raw = path.read_text(encoding="utf-8")
    match = _FRONT.match(raw)
    if not match:
        raise ValueError("no front matter (YAML between --- lines)")
    meta = yaml.safe_load(match.group(1)) or {}
    body = raw[match.end():]
    steps = meta.get("steps") or []
    if not isinstance(steps, list) or not steps:
        raise ValueError("front matter needs a non-empty 'steps' list")
    subjects = []
    for n, step in enumerate(steps, start=1):
        subject = (step or {}).get("subject")
        if not isinstance(subject, dict) or not subject:
            raise ValueError(f"step {n}: 'subject' must map variant -> subject")
        subjects.append({str(k): str(v) for k, v in subject.items()})
    if len({frozenset(s) for s in subjects}) != 1:
        raise ValueError("every step must define the same variants")
    personas = meta.get("personas") or [meta.get("persona", "*")]
    template_id = str(meta.get("id") or path.name[: -len(SUFFIX)])
    version = meta.get("version")
    digest = hashlib.sha256(raw.encode()).hexdigest()[:12]
    return EmailTemplate(
        id=template_id,
        version=f"v{version}" if version is not None else f"h{digest}",
        signal=str(meta.get("signal", "none")),
        personas=tuple(str(p) for p in personas),
        subjects=tuple(subjects),
        body=body,
        path=path,
    )


class TemplateLibrary:
    """All templates in a directory, compiled once in the sandbox.

    A broken file does not take the others down: it is listed in ``errors`` (file -> reason) and is
    simply unavailable; tests assert the shipped content has none.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.templates: dict[str, EmailTemplate] = {}
        self.errors: dict[str, str] = {}
        layout_path = self.directory / LAYOUT
        self._layout_source = layout_path.read_text(encoding="utf-8") if layout_path.exists() else None
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path.name.startswith("_"):
                continue
            try:
                tpl = _parse(path)
                if tpl.id in self.templates:
                    raise ValueError(f"duplicate template id {tpl.id!r}")
                self.templates[tpl.id] = tpl
            except Exception as exc:  # noqa: BLE001 -- reported per file, not fatal to the library
                self.errors[path.name] = str(exc)
        self._html = _environment(FunctionLoader(self._load), autoescape=True)
        self._plain = _environment(None, autoescape=False)
        self._compiled: dict[str, Any] = {}
        for tid, tpl in list(self.templates.items()):
            try:
                compiled = _guard(self._html.get_template, tid)
                missing = [n for n in range(1, tpl.steps + 1) if f"step{n}" not in compiled.blocks]
                if missing:
                    raise TemplateRejected(f"no block for step(s) {missing}")
                for subject in tpl.subjects:
                    for source in subject.values():
                        _guard(self._plain.from_string, source)
                self._compiled[tid] = compiled
            except TemplateRejected as exc:
                self.errors[tpl.path.name] = exc.reason
                del self.templates[tid]
        if self._layout_source is None:
            self.errors[LAYOUT] = "missing layout"
        else:
            try:
                self._layout = _guard(self._html.get_template, LAYOUT)
            except TemplateRejected as exc:
                self.errors[LAYOUT] = exc.reason
                self._layout = None

    def __repr__(self) -> str:
        return f"TemplateLibrary({str(self.directory)!r}, templates={sorted(self.templates)}, errors={self.errors})"

    def _load(self, name: str) -> tuple[str, None, Any] | None:
        if name == LAYOUT:
            return (self._layout_source or "", None, lambda: True)
        tpl = self.templates.get(name)
        return (tpl.body, None, lambda: True) if tpl else None

    def get(self, template_id: str) -> EmailTemplate:
        try:
            return self.templates[template_id]
        except KeyError:
            reason = self.errors.get(f"{template_id}{SUFFIX}", "no such template")
            raise TemplateRejected(f"template {template_id!r} unavailable: {reason}") from None

    def select(self, signal: str, persona: str) -> EmailTemplate:
        """Most specific template for (signal, persona); falls back to the signal-less ``none``."""
        for sig in (signal, "none"):
            candidates = [t for t in self.templates.values() if t.signal == sig]
            for t in sorted(candidates, key=lambda t: ("*" in t.personas, t.id)):
                if persona in t.personas or "*" in t.personas:
                    return t
        raise TemplateRejected(f"no template for signal={signal!r} persona={persona!r}")

    def render(self, template_id: str, step: int, variant: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render one step; raises ``TemplateRejected`` if unsafe, broken or not compliant.

        ``context`` must hold ``unsubscribe_url`` and ``postal_address`` (the gate checks the output).
        """
        tpl = self.get(template_id)
        if not 1 <= step <= tpl.steps:
            raise TemplateRejected(f"template {template_id!r} has no step {step}")
        if variant not in tpl.subjects[step - 1]:
            raise TemplateRejected(f"template {template_id!r} has no variant {variant!r}")
        if self._layout is None:
            raise TemplateRejected(f"layout unavailable: {self.errors.get(LAYOUT)}")
        ctx = {**dict(context), "step": step, "variant": variant, "template_id": template_id}
        compiled = self._compiled[template_id]

        def body() -> str:
            block = compiled.blocks[f"step{step}"]
            return "".join(block(compiled.new_context(ctx)))

        body_html = _guard(body).strip()
        html = _guard(self._layout.render, {**ctx, "body": Markup(body_html)})
        subject_tpl = _guard(self._plain.from_string, tpl.subjects[step - 1][variant])
        subject = " ".join(_guard(subject_tpl.render, ctx).split())
        if not subject:
            raise TemplateRejected("empty subject")
        text = html_to_text(html)
        ensure_compliant(html, text, str(ctx.get("unsubscribe_url", "")), str(ctx.get("postal_address", "")))
        return RenderedEmail(subject=subject, html=html, text=text, template_id=tpl.id,
                             template_version=tpl.version, variant=variant)


__all__ = [
    "EmailTemplate", "RenderedEmail", "TemplateLibrary", "TemplateRejected", "compliance_problems",
    "ensure_compliant", "html_to_text", "idempotency_marker", "render_string", "MARKER_PREFIX",
]
