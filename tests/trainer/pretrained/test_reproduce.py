"""``genre-trainer reproduce`` with pretrained methods: weights per method, random initialisation
only on request, CI-sized budgets, resuming after an interruption."""

import dataclasses
import json

import pytest

import trainer.reproduce as reproduce_module
from trainer.cli import main
from trainer.data.feature_cache import default_cache_dir
from trainer.methods import get
from trainer.reproduce import (
    TINY_EPOCHS,
    Outcome,
    Settings,
    method_overrides,
    reproduce,
)


def test_settings_reach_each_method_as_its_own_overrides(tiny_wav2vec2):
    settings = Settings(weights={"wav2vec2-large": "/w/large", "wav2vec2-base": "/w/base"}, device="cpu",
                        budget="tiny", overrides={"segments": 3, "n_estimators": 10})
    assert method_overrides(get("wav2vec2-biased-ensemble"), settings) == {
        "train.device": "cpu", "train.epochs": TINY_EPOCHS, "weights": "/w/large", "biased_weights": "/w/base",
        "segments": 3}
    assert method_overrides(get("rf-mean-wav2vec2"), settings) == {"device": "cpu", "weights": "/w/base"}
    assert method_overrides(get("wav2vec2-finetune"), Settings(weights=settings.weights, overrides={"size": "base"}))[
        "weights"] == "/w/base"
    assert method_overrides(get("wav2vec2-probe-unfreeze"), Settings(allow_random_init=True, budget="tiny")) == {
        "train.device": "auto", "train.epochs": TINY_EPOCHS, "allow_random_init": True, "size": "tiny",
        "unfreeze_after": 1}


def test_reproduce_tables_pretrained_and_random_methods_and_resumes(tmp_path, source, split, tiny_wav2vec2,
                                                                     monkeypatch):
    calls = []
    real_run = reproduce_module.run_method
    monkeypatch.setattr(reproduce_module, "run_method", lambda name, *a, seed, **k: calls.append((name, seed))
                        or real_run(name, *a, seed=seed, **k))
    splits = {("tiny", 0): split, ("tiny", 1): split}
    methods = ["rf-mean-wav2vec2", "wav2vec2-finetune"]
    settings = Settings(weights={"wav2vec2-base": str(tiny_wav2vec2)}, allow_random_init=True, device="cpu",
                        budget="tiny", cache_dir=str(tmp_path / "cache"), overrides={"segments": 2})
    table = reproduce(source, splits, methods, tmp_path, settings).table
    assert sorted(calls) == [(m, s) for m in sorted(methods) for s in (0, 1)]
    clips = "1.5-s windows (seed: 30-s clips); input 24000 (seed: 480000)"  # 16-kHz waveforms
    assert (f"| rf-mean-wav2vec2 | 003 | waveform → wav2vec2-base | {clips}; embeds 1.5 s (seed: the first 15 s) "
            "| yes | 66 |") in table
    assert (f"| wav2vec2-finetune | 000 | waveform → wav2vec2-large | {clips} | **not pretrained** "
            "| 72.5 (large, N=2) |") in table
    assert "peak GPU MiB" in table and "Tiny budget" in table
    rows = json.loads((tmp_path / "table.json").read_text())
    assert [r["pretrained"] for r in rows] == [True, False] and rows[0]["results"]["tiny"]["n"] == 2
    report = json.loads((tmp_path / "runs/wav2vec2-finetune/tiny-seed1/report.json").read_text())
    assert report["config"]["train"]["epochs"] == TINY_EPOCHS and report["device"] == "cpu"
    assert report["pretrained"] is False and "peak_gpu_mib" in report
    assert list((tmp_path / "cache").rglob("*.npy"))  # rf-mean-wav2vec2's embeddings, cached

    calls.clear()
    (tmp_path / "runs/wav2vec2-finetune/tiny-seed1/report.json").unlink()
    assert _without_timings(reproduce(source, splits, methods, tmp_path, settings).table) == _without_timings(table)
    assert calls == [("wav2vec2-finetune", 1)]

    calls.clear()
    without_leave = reproduce(source, splits, methods, tmp_path,
                              dataclasses.replace(settings, allow_random_init=False)).table
    assert calls == [] and "| rf-mean-wav2vec2 |" in without_leave
    assert "- wav2vec2-finetune: wav2vec2-finetune is built on pretrained weights" in without_leave
    assert "| wav2vec2-finetune |" not in without_leave.split("Not run")[0]


def _without_timings(table: str) -> str:
    """The table with its "train s" cells blanked: wall-clock seconds differ between any two runs."""
    lines = table.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| method |"))
    column = lines[header].split(" | ").index("train s")
    for i in range(header + 2, len(lines)):
        if not lines[i].startswith("| "):
            break
        cells = lines[i].split(" | ")
        cells[column] = "?"
        lines[i] = " | ".join(cells)
    return "\n".join(lines)


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path, source, split, tiny_wav2vec2, monkeypatch):
    real_run = reproduce_module.run_method

    def run(name, *args, seed, **kwargs):
        if name == "wav2vec2-probe":
            raise RuntimeError("out of memory")
        return real_run(name, *args, seed=seed, **kwargs)

    monkeypatch.setattr(reproduce_module, "run_method", run)
    outcome = reproduce(source, {("tiny", 0): split}, ["wav2vec2-probe", "rf-mean-wav2vec2"], tmp_path,
                        Settings(weights={"wav2vec2-base": str(tiny_wav2vec2)}, device="cpu", budget="tiny"))
    assert [r["method"] for r in outcome.rows] == ["rf-mean-wav2vec2"]
    assert outcome.failed == {"wav2vec2-probe (tiny, seed 0)": "RuntimeError: out of memory"}
    assert "out of memory" in (tmp_path / "runs/wav2vec2-probe/tiny-seed0/error.txt").read_text()
    assert "- wav2vec2-probe (tiny, seed 0): RuntimeError: out of memory" in outcome.table


def test_reproduce_command_line_maps_weights_and_refuses_unknown_keys(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(reproduce_module, "reproduce", lambda data, splits, methods, out, settings, jobs: seen.update(
        settings=settings, methods=methods, jobs=jobs) or Outcome("table", [], {}, {}))
    monkeypatch.setattr("trainer.cli.open_dataset", lambda path, window: type("Data", (), {"songs": [], "genres": []})())
    assert main(["reproduce", "--data", str(tmp_path), "--splits", "random-80-20", "--seeds", "0",
                 "--methods", "resnet18", "--weights", "resnet18=/w/r18.pth", "--allow-random-init",
                 "--device", "cpu", "--budget", "tiny", "--jobs", "3"]) == 0
    assert seen["jobs"] == 3
    assert seen["settings"] == Settings(weights={"resnet18": "/w/r18.pth"}, allow_random_init=True, device="cpu",
                                        budget="tiny", cache_dir=str(default_cache_dir()))
    with pytest.raises(SystemExit, match="wav2vec2-base, wav2vec2-large"):
        main(["reproduce", "--data", str(tmp_path), "--weights", "bert=/w"])
