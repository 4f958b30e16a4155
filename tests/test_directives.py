"""Directives: the shipped ones load; a malformed one fails with file, line and field."""

from __future__ import annotations

import re
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


def _broken(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, str]:
    """A copy of the shipped directives with one replacement in ``name``; (its path, its text)."""
    path = _copy(tmp_path) / name
    text = (DIRECTIVES / name).read_text()
    assert old in text, old
    path.write_text(text := text.replace(old, new, 1))
    return path, text


def _error(path: Path) -> str:
    with pytest.raises(DirectiveError) as err:
        parse_directive(path)
    return str(err.value)


@pytest.mark.parametrize("value, message", [
    ("-2", "Input should be greater than or equal to 1"),
    ("0", "Input should be greater than or equal to 1"),
    ("2.5", "Input should be a valid integer"),
    ("true", "Input should be a valid integer"),  # not silently 1
    ("'5'", "Input should be a valid integer"),
])
def test_stall_days_must_be_positive_whole_days(tmp_path, value, message):
    path, text = _broken(tmp_path, "ghost_hunting.md", "    Proposal: 5\n", f"    Proposal: {value}\n")
    assert _error(path) == f"{path}:{_line(text, f'Proposal: {value}')}: ghosts.stall_days_by_stage.Proposal: {message}"
    path.write_text((DIRECTIVES / "ghost_hunting.md").read_text().replace("stall_days_default: 7", "stall_days_default: 0"))
    assert _error(path).startswith(f"{path}:{_line(text, 'stall_days_default: 7')}: ghosts.stall_days_default: ")


def test_a_misspelt_stage_is_an_error_not_a_silent_default(tmp_path):
    """Without ``ghosts.stages`` the keys must be the sample pipeline's stages (trimmed, any case)."""
    path, text = _broken(tmp_path, "ghost_hunting.md", "    Proposal: 5\n", "    Propsal: 5\n")
    assert _error(path).startswith(f"{path}:{_line(text, 'Propsal: 5')}: ghosts.stall_days_by_stage.Propsal: "
                                   f"unknown stage 'Propsal'; stages of the sample pipeline (declare yours under ghosts.stages): "
                                   f"['New Lead', 'Qualified', 'Discovery', 'Proposal', 'Negotiation']")
    path.write_text(text.replace("    Propsal: 5\n", "    discovery: 5\n"))
    assert parse_directive(path).params.ghosts.stall_days_by_stage["discovery"] == 5  # the ghost list matches any case


def test_two_spellings_of_one_stage_are_an_error(tmp_path):
    """The ghost list folds case, so ``Proposal`` and ``proposal`` would silently be one threshold."""
    path, text = _broken(tmp_path, "ghost_hunting.md", "    Proposal: 5\n", "    Proposal: 5\n    proposal: 6\n")
    assert _error(path) == (f"{path}:{_line(text, 'proposal: 6')}: ghosts.stall_days_by_stage.proposal: "
                            f"stage 'proposal' is 'Proposal' again (stage names match case-insensitively)")


def test_a_declared_stage_list_is_what_stage_names_are_checked_against(tmp_path):
    """A live pipeline with other stage names declares them; then only those are accepted."""
    own = "  stages: [New Lead, Qualified, Proposal, Negotiation, Contract Sent]\n  stall_days_by_stage:\n    Contract Sent: 3\n"
    path, text = _broken(tmp_path, "ghost_hunting.md", "  stall_days_by_stage:\n", own)
    ghosts = parse_directive(path).params.ghosts
    assert ghosts.stall_days_by_stage["Contract Sent"] == 3 and "Contract Sent" in ghosts.stages

    text = text.replace("Negotiation, Contract Sent]", "Contract Sent]")  # Negotiation: 5 is now unknown
    path.write_text(text)
    assert _error(path).startswith(f"{path}:{_line(text, 'Negotiation: 5')}: ghosts.stall_days_by_stage.Negotiation: "
                                   f"unknown stage 'Negotiation'; stages of ghosts.stages: ")

    path.write_text(text.replace("[New Lead, Qualified,", "[New Lead, new lead, Qualified,"))
    assert _error(path).startswith(f"{path}:{_line(text, 'stages: [New Lead, Qualified, Proposal, Contract Sent]')}: ghosts.stages.1: "
                                   f"stage 'new lead' listed twice")


def test_cross_field_errors_name_the_exact_field_and_its_line(tmp_path):
    """Not the parent (``intent``, ``scoring.thresholds``, ``icp``): the field to fix, on its own line."""
    path, text = _broken(tmp_path, "lead_processing.md", "    medium: 0.2\n", "    medium: 0.9\n")
    high = re.search(r"\n    high: ([0-9.]+)\n", text).group(1)  # whatever the shipped directive says
    assert _error(path) == (f"{path}:{_line(text, 'medium: 0.9')}: scoring.thresholds.medium: "
                            f"medium threshold (0.9) must not exceed high ({high})")

    path, text = _broken(tmp_path / "b", "lead_processing.md", "    hiring: 25\n", "    hiring: -25\n")
    assert _error(path) == f"{path}:{_line(text, 'hiring: -25')}: intent.weights.hiring: weight must be >= 0, got -25"

    path, text = _broken(tmp_path / "c", "lead_processing.md", "    hiring: 25\n", "    hiring: 25\n    astrology: 5\n")
    assert _error(path).startswith(f"{path}:{_line(text, 'astrology: 5')}: intent.weights.astrology: "
                                   f"unknown signal type 'astrology'; known: ")

    path, text = _broken(tmp_path / "d", "lead_processing.md", "employee_range: [50, 2000]", "employee_range: [2000, 50]")
    assert _error(path) == (f"{path}:{_line(text, 'employee_range: [2000, 50]')}: icp.employee_range: "
                            f"employee_range must be [min, max] with 0 <= min <= max, got [2000, 50]")


@pytest.mark.parametrize("value, expected", [("45", [45]), ("[15, 30, 45, 60]", [15, 30, 45, 60])])
def test_backtest_days_are_a_list_and_one_number_is_one_day(tmp_path, value, expected):
    path = _copy(tmp_path) / "lead_processing.md"
    path.write_text(path.read_text().replace("backtest_days: [15, 30, 45, 60]", f"backtest_days: {value}"))
    assert parse_directive(path).params.scoring.backtest_days == expected


@pytest.mark.parametrize("value", ["[]", "[30, 0]", "[30, 4.5]", "true"])
def test_backtest_days_must_be_whole_positive_days(tmp_path, value):
    path = _copy(tmp_path) / "lead_processing.md"
    path.write_text(path.read_text().replace("backtest_days: [15, 30, 45, 60]", f"backtest_days: {value}"))
    with pytest.raises(DirectiveError, match=r"lead_processing.md:\d+: scoring.backtest_days"):
        parse_directive(path)
