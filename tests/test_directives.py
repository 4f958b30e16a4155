"""Directives: the shipped ones load; a malformed one fails with file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from revops_assets.directives import DirectiveError, load_directives, parse_directive

DIRECTIVES = Path(__file__).resolve().parent.parent / "directives"


def test_shipped_directives_load_with_the_seed_weights():
    d = load_directives(DIRECTIVES)
    assert d.lead_processing.intent.weights == {
        "funding": 30, "hiring": 25, "leadership_change": 20, "product_launch": 15, "website_activity": 10,
    }
    assert d.ghost_hunting.ghosts.stall_days_default == 7
    assert len(d.version) == 12
    assert "## Goal" in d.documents["lead_processing"].body


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "directives"
    shutil.copytree(DIRECTIVES, target)
    return target


def test_bad_value_names_file_line_and_field(tmp_path):
    target = _copy(tmp_path)
    path = target / "lead_processing.md"
    text = path.read_text().replace("    funding: 30", "    funding: lots")
    path.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), start=1) if "funding: lots" in l)
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    assert str(err.value).startswith(f"{path}:{line}: intent.weights.funding:")


def test_broken_yaml_names_the_line(tmp_path):
    target = _copy(tmp_path)
    path = target / "ghost_hunting.md"
    path.write_text(path.read_text().replace("  stall_days_default: 7", "  stall_days_default: [7"))
    with pytest.raises(DirectiveError, match=r"ghost_hunting.md:\d+: front matter"):
        parse_directive(path)


def test_unknown_signal_and_inverted_range_are_rejected(tmp_path):
    target = _copy(tmp_path)
    path = target / "lead_processing.md"
    path.write_text(path.read_text().replace("employee_range: [50, 2000]", "employee_range: [2000, 50]"))
    with pytest.raises(DirectiveError, match="icp.employee_range|icp"):
        parse_directive(path)
    path.write_text((DIRECTIVES / "lead_processing.md").read_text().replace("    hiring: 25", "    hiring: 25\n    astrology: 5"))
    with pytest.raises(DirectiveError, match="unknown signal type"):
        parse_directive(path)


def test_editing_a_directive_changes_the_version(tmp_path):
    target = _copy(tmp_path)
    before = load_directives(target).version
    path = target / "meeting_preparation.md"
    path.write_text(path.read_text().replace("lookahead_hours: 24", "lookahead_hours: 48"))
    assert load_directives(target).version != before


def _line(text: str, needle: str, nth: int = 1) -> int:
    """1-based file line of the ``nth`` line equal to ``needle`` (stripped)."""
    return [i for i, l in enumerate(text.splitlines(), start=1) if l.strip() == needle][nth - 1]


def test_duplicate_key_names_file_second_line_and_key(tmp_path):
    """Last-one-wins would silently change a weight; a repeated key is an error at its second line."""
    target = _copy(tmp_path)
    path = target / "lead_processing.md"
    text = path.read_text().replace("    hiring: 25\n", "    hiring: 25\n    product_launch: 15\n    funding: 99\n")
    path.write_text(text)
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    first, second = _line(text, "funding: 30"), _line(text, "funding: 99")
    assert str(err.value) == f"{path}:{second}: intent.weights.funding: duplicate key (first given on line {first})"


def test_duplicate_top_level_and_nested_keys(tmp_path):
    target = _copy(tmp_path)
    path = target / "ghost_hunting.md"
    original = (DIRECTIVES / "ghost_hunting.md").read_text()
    text = original.replace("version: 1\n", "version: 1\nversion: 2\n", 1)
    path.write_text(text)
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    assert str(err.value).startswith(f"{path}:{_line(text, 'version: 2')}: version: duplicate key")

    text = original.replace("    Proposal: 5\n", "    Proposal: 5\n    New Lead: 3\n", 1)  # a key with a space
    path.write_text(text)
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    assert str(err.value).startswith(f"{path}:{_line(text, 'New Lead: 3')}: ghosts.stall_days_by_stage.New Lead: "
                                     f"duplicate key (first given on line {_line(text, 'New Lead: 14')})")


def test_keys_equal_after_yaml_resolution_are_duplicates_but_merge_overrides_are_not(tmp_path):
    """``yes`` and ``true`` are one key to YAML; a key given beside a ``<<`` merge overrides it, as YAML means."""
    target = _copy(tmp_path)
    path = target / "meeting_preparation.md"
    original = (DIRECTIVES / "meeting_preparation.md").read_text()
    text = original.replace("  slack: true\n", "  slack: true\n  yes: 1\n  true: 2\n", 1)
    path.write_text(text)
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    assert str(err.value).startswith(f"{path}:{_line(text, 'true: 2')}: briefing.true: duplicate key "
                                     f"(first given on line {_line(text, 'yes: 1')})")

    path.write_text(original.replace("meetings:\n", "meetings:\n  <<: {lookahead_hours: 12, passages: 2}\n", 1))
    meetings = parse_directive(path).params.meetings
    assert (meetings.lookahead_hours, meetings.passages, meetings.news_lookback_days) == (24, 5, 30)
