"""Directives: business rules as markdown with validated YAML front matter (Layer 1 of the seed).

The front matter holds the machine-read parameters; the markdown body is for people and is shown in
the Dagster UI. A malformed directive fails with file, line and field, e.g.
``directives/lead_processing.md:14: intent.weights.funding: Input should be a valid number``.
A key given twice is such an error too (at its second line), not YAML's silent "last one wins".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SIGNAL_TYPES = ("funding", "hiring", "leadership_change", "product_launch", "website_activity")
# A whole number of days, at least one: strict, so ``true``, ``"5"`` and ``5.0`` are errors, not 1, 5, 5.
PositiveDays = Annotated[int, Field(strict=True, ge=1)]


class _FieldError(ValueError):
    """A cross-field check's error at an exact field: ``loc`` is the path below the model that raised it."""

    def __init__(self, loc: tuple[Any, ...], message: str):
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ICP(_Strict):
    industries: list[str]
    employee_range: tuple[int, int]
    regions: list[str]
    titles: list[str] = Field(default_factory=list)
    seniority: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _range(self) -> "ICP":
        lo, hi = self.employee_range
        if lo < 0 or hi < lo:
            raise _FieldError(("employee_range",), f"employee_range must be [min, max] with 0 <= min <= max, got {list(self.employee_range)}")
        return self


class IntentRules(_Strict):
    weights: dict[str, float]
    half_life_days: float = Field(gt=0)
    cap: float = Field(default=100, gt=0)
    hot_pages: list[str] = Field(default_factory=lambda: ["/pricing", "/demo", "/contact", "/trial"])

    @model_validator(mode="after")
    def _known(self) -> "IntentRules":
        for signal, weight in self.weights.items():
            if signal not in SIGNAL_TYPES:
                raise _FieldError(("weights", signal), f"unknown signal type {signal!r}; known: {list(SIGNAL_TYPES)}")
            if weight < 0:
                raise _FieldError(("weights", signal), f"weight must be >= 0, got {weight:g}")
        return self


class Thresholds(_Strict):
    high: float = Field(ge=0, le=1)
    medium: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> "Thresholds":
        if self.medium > self.high:
            raise _FieldError(("medium",), f"medium threshold ({self.medium:g}) must not exceed high ({self.high:g})")
        return self


class Scoring(_Strict):
    thresholds: Thresholds
    min_outcomes_to_train: int = Field(default=40, ge=1)
    # The model must also out-rank the prior on the leads open this many days ago (pooled over the
    # days: one horizon alone has too few wins to tell two rankings apart). A single number is one day.
    backtest_days: list[PositiveDays] = Field(default_factory=lambda: [15, 30, 45, 60], min_length=1)

    @field_validator("backtest_days", mode="before")
    @classmethod
    def _one_day_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class Research(_Strict):
    ttl_days: float = Field(default=7, ge=0)
    news_lookback_days: int = Field(default=120, ge=1)


class LeadProcessing(_Strict):
    directive: str
    version: int
    icp: ICP
    intent: IntentRules
    scoring: Scoring
    research: Research = Research()
    routing: dict[str, Any] = Field(default_factory=dict)


class Sender(_Strict):
    name: str
    email: str
    postal_address: str
    unsubscribe_base_url: str


class SequenceRules(_Strict):
    steps: int = Field(default=3, ge=1, le=10)
    spacing_days: list[int] = Field(default_factory=lambda: [0, 3, 7])
    priorities: list[str] = Field(default_factory=lambda: ["High", "Medium"])


class OutboundCampaign(_Strict):
    directive: str
    version: int
    sender: Sender
    sequence: SequenceRules = SequenceRules()
    caps: dict[str, int] = Field(default_factory=lambda: {"per_mailbox_daily": 50})


def sample_stages() -> tuple[str, ...]:
    """The sample (demo) pipeline's stage names: what ``stall_days_by_stage`` may name by default."""
    from revops_assets.sample.crm import STAGES  # lazy: the generator is not needed to parse a directive

    return tuple(STAGES)


class GhostRules(_Strict):
    """Stall thresholds. A stage name in ``stall_days_by_stage`` must be a stage of the pipeline:
    one of ``stages`` when the directive declares its pipeline's stage names there (a live GHL
    pipeline with other names must), else one of the sample pipeline's. Names match as the ghost
    list matches them (trimmed, case-insensitive), so a misspelt stage is an error, never a silent
    fallback to the default."""

    stall_days_default: PositiveDays = 7
    stall_days_by_stage: dict[str, PositiveDays] = Field(default_factory=dict)
    stages: list[str] | None = None

    @model_validator(mode="after")
    def _stages_known(self) -> "GhostRules":
        def key(name: str) -> str:
            return name.strip().lower()

        if self.stages is not None:
            seen: dict[str, int] = {}
            for i, name in enumerate(self.stages):
                if not name.strip():
                    raise _FieldError(("stages", i), "a stage name must not be blank")
                if key(name) in seen:
                    raise _FieldError(("stages", i), f"stage {name!r} listed twice (as item {seen[key(name)]} too)")
                seen[key(name)] = i
        known = self.stages if self.stages is not None else list(sample_stages())
        where = "ghosts.stages" if self.stages is not None else "the sample pipeline (declare yours under ghosts.stages)"
        known_keys = {key(k) for k in known}
        given: dict[str, str] = {}
        for name in self.stall_days_by_stage:
            if key(name) not in known_keys:
                raise _FieldError(("stall_days_by_stage", name), f"unknown stage {name!r}; stages of {where}: {known}")
            if key(name) in given:
                raise _FieldError(("stall_days_by_stage", name),
                                  f"stage {name!r} is {given[key(name)]!r} again (stage names match case-insensitively)")
            given[key(name)] = name
        return self


class GhostHunting(_Strict):
    directive: str
    version: int
    ghosts: GhostRules = GhostRules()
    revival: dict[str, Any] = Field(default_factory=dict)


class MeetingRules(_Strict):
    lookahead_hours: int = Field(default=24, ge=1)
    news_lookback_days: int = Field(default=30, ge=1)
    passages: int = Field(default=5, ge=0)


class MeetingPreparation(_Strict):
    directive: str
    version: int
    meetings: MeetingRules = MeetingRules()
    briefing: dict[str, Any] = Field(default_factory=dict)


SCHEMAS: dict[str, type[BaseModel]] = {
    "lead_processing": LeadProcessing,
    "outbound_campaign": OutboundCampaign,
    "ghost_hunting": GhostHunting,
    "meeting_preparation": MeetingPreparation,
}


class DirectiveError(ValueError):
    """A directive that cannot be used; the message names file, line and field."""


@dataclass(frozen=True)
class Directive:
    name: str
    path: Path
    params: BaseModel
    body: str
    content_hash: str


def _split(text: str, path: Path) -> tuple[str, str, int]:
    if not text.startswith("---"):
        raise DirectiveError(f"{path}:1: front matter: a directive starts with a '---' YAML block")
    end = text.find("\n---", 3)
    if end < 0:
        raise DirectiveError(f"{path}:1: front matter: no closing '---'")
    return text[3:end], text[end + 4 :].lstrip("\n"), 1  # YAML line 0 is the rest of the opening "---" line


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping; ``key_node`` is the second occurrence."""

    def __init__(self, first: yaml.Node, key_node: yaml.Node, key: Any):
        super().__init__(None, None, f"duplicate key {key!r}", key_node.start_mark)
        self.first, self.key_node, self.key = first, key_node, key
        self.root: yaml.Node | None = None  # the document, set by ``_load`` for the key's path


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, except that a key given twice is an error, not "last one wins"."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._checked: set[int] = set()

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._check_unique(node)
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        self._check_unique(node)  # a "<<"-merged mapping is flattened before it is constructed
        super().flatten_mapping(node)

    def _check_unique(self, node: yaml.Node) -> None:
        """Once per mapping, on its keys as written (after a merge, merged keys may be overridden)."""
        if not isinstance(node, yaml.MappingNode) or id(node) in self._checked:
            return
        self._checked.add(id(node))
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # unhashable: the base constructor reports it
                continue
            if first is not key_node:
                raise _DuplicateKey(first, key_node, key)


def _load(front: str) -> tuple[yaml.Node | None, Any]:
    """(node tree, data) from one parse, so errors can point at nodes of the same tree."""
    loader = _UniqueKeyLoader(front)
    try:
        node = loader.get_single_node()
        try:
            return node, (loader.construct_document(node) if node is not None else None)
        except _DuplicateKey as exc:
            exc.root = node
            raise
    finally:
        loader.dispose()


def _path_to(root: yaml.Node | None, target: yaml.Node) -> tuple[Any, ...] | None:
    """Key path (as pydantic would write it) from ``root`` to the mapping key node ``target``."""
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())] if root is not None else []
    visited: set[int] = set()
    while stack:  # iterative and alias-safe: anchors can make the tree a graph, even a cycle
        node, path = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if key_node is target:
                    return (*path, key)
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*path, i)) for i, child in enumerate(node.value))
    return None


def _field(path: tuple[Any, ...]) -> str:
    """A key path as the error names it: ``intent.weights.funding``; a key that would be ambiguous quoted."""
    def part(p: Any) -> str:
        text = str(p)
        return text if text.strip() == text and text and ": " not in text and "\n" not in text else repr(text)

    return ".".join(part(p) for p in path) or "front matter"


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line (0-based, in the front matter) of the YAML node a pydantic error location points at."""
    line = node.start_mark.line if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            node, line = match, match.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line


def parse_directive(path: Path) -> Directive:
    path = Path(path)
    name = path.stem
    schema = SCHEMAS.get(name)
    if schema is None:
        raise DirectiveError(f"{path}:1: directive: unknown directive {name!r}; known: {sorted(SCHEMAS)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectiveError(f"{path}:1: file: cannot read ({exc})") from exc
    front, body, first_line = _split(text, path)
    try:
        node, data = _load(front)
        data = data or {}
    except _DuplicateKey as exc:
        field = _field(_path_to(exc.root, exc.key_node) or (exc.key,))
        raise DirectiveError(f"{path}:{first_line + exc.key_node.start_mark.line}: {field}: "
                             f"duplicate key (first given on line {first_line + exc.first.start_mark.line})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        raise DirectiveError(f"{path}:{line}: front matter: {getattr(exc, 'problem', exc)}") from exc
    except RecursionError:  # PyYAML composes recursively: "[[[[..." thousands deep
        raise DirectiveError(f"{path}:{first_line}: front matter: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        raise DirectiveError(f"{path}:{first_line}: front matter: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise DirectiveError(f"{path}:{first_line}: front matter: expected a mapping of fields")
    try:
        params = schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc, msg = tuple(err["loc"]), err["msg"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldError):  # a cross-field check: name the field it is about, not its parent
            loc, msg = loc + cause.loc, str(cause)
        line = _line_of(node, loc)
        raise DirectiveError(f"{path}:{first_line + (line or 0)}: {_field(loc)}: {msg}") from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Directive(name=name, path=path, params=params, body=body, content_hash=digest)


@dataclass(frozen=True)
class Directives:
    lead_processing: LeadProcessing
    outbound_campaign: OutboundCampaign
    ghost_hunting: GhostHunting
    meeting_preparation: MeetingPreparation
    documents: dict[str, Directive]

    @property
    def version(self) -> str:
        """One short hash over every directive: stamped on every score so versions can be compared."""
        joined = "".join(d.content_hash for _, d in sorted(self.documents.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:12]


def load_directives(directives_dir: Path) -> Directives:
    docs = {name: parse_directive(Path(directives_dir) / f"{name}.md") for name in SCHEMAS}
    return Directives(
        lead_processing=docs["lead_processing"].params,  # type: ignore[arg-type]
        outbound_campaign=docs["outbound_campaign"].params,  # type: ignore[arg-type]
        ghost_hunting=docs["ghost_hunting"].params,  # type: ignore[arg-type]
        meeting_preparation=docs["meeting_preparation"].params,  # type: ignore[arg-type]
        documents=docs,
    )
