"""Settings: declared once, validated, saved at once, and turned into the CLI's own objects."""

from __future__ import annotations

import json

import pytest

from tagger.library import WritePolicy
from tagger.options import BY_KEY, OPTIONS
from tagger.settings import Settings
from trainer.runtime.audio import WindowChoice, WindowSpec


def test_every_option_has_a_title_a_type_and_a_valid_default(tmp_path):
    settings = Settings(tmp_path / "s.json")
    for option in OPTIONS:
        assert option.title and isinstance(option.default, option.kind)
        settings.set(option.key, option.default)
    assert json.loads((tmp_path / "s.json").read_text()).keys() == BY_KEY.keys()


def test_values_are_checked_and_saved(tmp_path):
    path = tmp_path / "s.json"
    settings = Settings(path)
    settings.set("write_mode", "replace")
    settings.set("window_s", 10)
    with pytest.raises(ValueError, match="at most"):
        settings.set("max_genres", 9)
    with pytest.raises(ValueError, match="one of"):
        settings.set("device", "abacus")
    again = Settings.load(path)
    assert again["write_mode"] == "replace" and again["window_s"] == 10.0 and again["max_genres"] == 0


def test_a_damaged_file_falls_back_to_defaults_and_says_so(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"min_confidence": 7, "device": "cpu", "unknown": 1}')
    settings = Settings.load(path)
    assert settings["device"] == "cpu" and settings["min_confidence"] == 0.0
    assert any("Minimum confidence" in p for p in settings.problems)
    path.write_text("{not json")
    assert Settings.load(path).problems


def test_settings_become_the_same_objects_the_cli_builds(tmp_path):
    from tagger.cli import build_parser, window_choice

    def cli(*flags: str) -> WindowChoice:
        return window_choice(build_parser().parse_args(["classify", *flags]))

    settings = Settings(None)
    assert settings.window_choice() == cli() == WindowChoice()  # the model's own windows
    assert settings.workers() is None  # one process per core
    assert settings.write_policy() == WritePolicy()
    settings.set("hop_s", 1.5)  # a hop alone keeps the model's length, in the window as on the command line
    assert settings.window_choice() == cli("--hop", "1.5")
    assert settings.window_choice().applied_to(WindowSpec(3.0, 3.0)) == WindowSpec(length_s=3.0, hop_s=1.5)
    settings.set("hop_s", 0.0)
    settings.set("window_s", 10.0)
    settings.set("id3v23", True)
    settings.set("workers", 0)
    assert settings.window_choice() == cli("--window", "10")
    assert settings.window_choice().applied_to(WindowSpec(3.0, 3.0)) == WindowSpec(length_s=10.0, hop_s=10.0)
    assert settings.write_policy(mode="append").id3_version == 3
    assert settings.workers() == 0
    settings.set("library", str(tmp_path / "music.db"))
    assert settings.models_dir == tmp_path / "models"


def test_the_settings_page_edits_and_saves(qtbot, window):
    page = window.settings_page
    page.editors["write_mode"].setCurrentIndex(page.editors["write_mode"].findData("append"))
    page.editors["min_confidence"].setValue(70)
    page.editors["id3v23"].setChecked(True)
    saved = json.loads(window.settings.path.read_text())
    assert (saved["write_mode"], saved["min_confidence"], saved["id3v23"]) == ("append", 0.7, True)
    assert window.settings.write_policy() == WritePolicy(mode="append", min_confidence=0.7, id3_version=3)
