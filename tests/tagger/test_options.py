"""Options declared once: the command line's flags carry the settings page's defaults, limits and help."""

from __future__ import annotations

import argparse

import pytest

from tagger.cli import build_parser
from tagger.options import BY_KEY, OPTIONS, coerce

FLAGGED = [o for o in OPTIONS if o.flag]
# The subcommand that offers each flag (the catalogue's --db is the top-level parser's).
COMMAND = {"--model": "classify", "--device": "classify", "--workers": "classify", "--window": "classify",
           "--hop": "classify", "--patches": "classify", "--mode": "write", "--min-confidence": "write",
           "--max-genres": "write", "--id3v23": "write"}


def _parse(flag: str, *values: str) -> argparse.Namespace:
    command = COMMAND.get(flag)
    argv = [flag, *values, "profile"] if command is None else [command, flag, *values]
    return build_parser().parse_args(argv)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def test_every_flag_is_declared_once_and_offered():
    assert {o.flag for o in FLAGGED} == set(COMMAND) | {"--db"}
    assert len({o.flag for o in FLAGGED}) == len(FLAGGED)


@pytest.mark.parametrize("option", FLAGGED, ids=lambda o: o.key)
def test_a_flag_left_out_means_what_the_settings_default_means(option):
    command = COMMAND.get(option.flag)
    args = build_parser().parse_args([command] if command else ["profile"])
    value = getattr(args, _dest(option.flag))
    if option.automatic:  # the empty or minimum value stands for "automatic": None on the command line
        assert value is None and (option.default == "" or option.default == option.minimum)
    else:
        assert value == option.default


@pytest.mark.parametrize("option", [o for o in FLAGGED if o.kind in (int, float)], ids=lambda o: o.key)
def test_a_flag_refuses_what_the_settings_page_refuses(option, capsys):
    too_big = option.maximum + 1
    with pytest.raises(ValueError) as settings_says:
        coerce(option, too_big)
    with pytest.raises(SystemExit):
        _parse(option.flag, str(too_big))
    assert str(settings_says.value) in capsys.readouterr().err


def test_the_automatic_value_given_is_the_same_as_leaving_the_flag_out():
    assert _parse("--workers", "-1").workers is None and _parse("--workers", "0").workers == 0
    assert _parse("--window", "0").window is None and _parse("--window", "10").window == 10.0


def test_choices_and_paths_keep_their_kinds(tmp_path):
    assert _parse("--device", "cpu").device == "cpu"
    with pytest.raises(SystemExit):
        _parse("--device", "tpu")
    assert _parse("--model", str(tmp_path)).model == tmp_path
    assert _parse("--mode", "replace").mode == "replace" and _parse("--id3v23").id3v23 is True
    assert BY_KEY["write_mode"].choices and set(BY_KEY["write_mode"].choices) == {"empty", "replace", "append"}


@pytest.mark.parametrize("command", ["classify", "write", "accept", "list", "retrain"])
def test_every_help_renders_the_declared_defaults(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    for option in FLAGGED:
        if COMMAND.get(option.flag) == command and option.kind is not bool:
            shown = option.automatic or (f"{option.default:.0%}" if option.percent else f"{option.default}")
            assert f"(default: {shown})" in printed
