"""``genre-trainer reproduce``: every chosen method on every (split, seed), one table at the end.

Each finished run is saved as JSON under ``out/runs/`` before the next starts, so an interrupted
reproduction resumes where it stopped and a finished one re-prints its table at once; a saved run
is redone only when its settings differ from what the method would get now.

``Settings`` carries what a researcher chooses once for all methods: weights for the methods on
pretrained models (``weights``: key -> local path or hub id, e.g. ``wav2vec2-large``,
``resnet18``), leave to start those from random initialisation instead, the device, a budget
(``tiny`` caps every training at ``TINY_EPOCHS`` epochs and shrinks what the methods themselves
shrink, for CI-sized runs whose figures say nothing about the seeds) and ``--set`` overrides,
applied to the methods that have the setting. A method that cannot run (no weights and no leave,
a package missing) is listed under the table with what it needs.
"""

from __future__ import annotations

import dataclasses
import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm import tqdm

from trainer.data.splits import Split
from trainer.evaluate import spread
from trainer.fit import TrainConfig, resolve_device
from trainer.methods import MethodSpec, create, get, specs
from trainer.methods.pretrained import MethodUnavailable, PretrainedMethod
from trainer.report import comparison_table, write_run
from trainer.run import SongSource, run_method, seeded_overrides

TINY_EPOCHS = 2
Budget = Literal["full", "tiny"]


@dataclass(frozen=True)
class Settings:
    """What a reproduction applies to every method that has the setting (see the module text);
    ``cache_dir`` is where methods on pretrained embeddings cache them."""

    weights: dict[str, str] = field(default_factory=dict)
    allow_random_init: bool = False
    device: str = "auto"
    budget: Budget = "full"
    cache_dir: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def _train_configs(config: Any, prefix: str = "") -> dict[str, TrainConfig]:
    """Every ``TrainConfig`` inside a (nested) config, by dotted path."""
    if isinstance(config, TrainConfig):
        return {prefix.rstrip("."): config}
    if not dataclasses.is_dataclass(config):
        return {}
    return {path: train for f in dataclasses.fields(config)
            for path, train in _train_configs(getattr(config, f.name), f"{prefix}{f.name}.").items()}


def _has_setting(config: Any, key: str) -> bool:
    for part in key.split("."):
        if not dataclasses.is_dataclass(config) or part not in {f.name for f in dataclasses.fields(config)}:
            return False
        config = getattr(config, part)
    return True


def method_overrides(spec: MethodSpec, settings: Settings) -> dict[str, Any]:
    """The config overrides ``settings`` mean for one method (the run's seed aside); the user's
    own ``overrides`` come first (they may change which weights a method names) and win."""
    user = {k: v for k, v in settings.overrides.items() if _has_setting(spec.config, k)}
    config, overrides = spec.make_config(**user), {}
    for path, train in _train_configs(config).items():
        overrides[f"{path}.device"] = settings.device
        if settings.budget == "tiny":
            overrides[f"{path}.epochs"] = min(TINY_EPOCHS, train.epochs)
    for name, value in (("device", settings.device), ("cache_dir", settings.cache_dir)):
        if value is not None and _has_setting(config, name):
            overrides[name] = value
    if issubclass(spec.family, PretrainedMethod):
        slots = spec.family.weight_slots(config)
        overrides.update({name: settings.weights[key] for name, key in slots.items() if key in settings.weights})
        if settings.allow_random_init and any(getattr(config, n) is None and n not in overrides for n in slots):
            overrides["allow_random_init"] = True
        if settings.budget == "tiny":
            overrides.update(spec.family.tiny_overrides(spec.make_config(**{**overrides, **user})))
    return {**overrides, **user}


def weight_keys() -> list[str]:
    """The keys ``Settings.weights`` understands: every weights key a registered method names."""
    return sorted({key for spec in specs().values() if issubclass(spec.family, PretrainedMethod)
                   for key in spec.family.weight_slots(spec.config).values()})


def _run_path(out: Path, method: str, split: Split, seed: int) -> Path:
    return out / "runs" / method / f"{split.name}-seed{seed}"


def _comparable(config: Any) -> Any:
    """A config as its report.json stores it."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def _run(name: str, data: SongSource, split: Split, seed: int, overrides: dict[str, Any], device: str) -> dict[str, Any]:
    """One run's summary, with the device it ran on and its peak GPU memory (MiB, CUDA only)."""
    on_cuda = resolve_device(device).type == "cuda"
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    summary = run_method(name, data, split, seed=seed, overrides=overrides).summary()
    summary["device"] = resolve_device(device).type
    summary["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1) if on_cuda else None
    return summary


def _append_column(table: str, header: str, cells: list[str]) -> str:
    """A Markdown table (header, rule, one line per row) with one more column at the right."""
    lines = table.splitlines()
    extra = [f" {header} |", "---:|", *(f" {c} |" for c in cells)]
    return "\n".join(line + add for line, add in zip(lines, extra, strict=True))


@dataclass
class Outcome:
    """What a reproduction produced: the Markdown table (also in ``table.md``), its rows (also in
    ``table.json``), and the methods not run and runs that failed, with the reason."""

    table: str
    rows: list[dict[str, Any]]
    not_run: dict[str, str]
    failed: dict[str, str]


def _input(spec: MethodSpec) -> str:
    """What a method reads: its pipeline, and the pretrained model it goes through, if any."""
    if issubclass(spec.family, PretrainedMethod):
        return f"{spec.pipeline} → {spec.family.weights_key(spec.config)}"
    return spec.pipeline


def _row(name: str, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One table row from a method's run summaries per protocol."""
    spec = get(name)
    every = [r for rs in runs.values() for r in rs]
    peaks = [r["peak_gpu_mib"] for r in every if r.get("peak_gpu_mib") is not None]
    return {
        "method": name, "seed": spec.seed, "input": _input(spec), "pretrained": every[0]["pretrained"],
        "published": spec.published, "seed_protocol": spec.seed_protocol,
        "results": {p: spread([r["accuracy"] for r in rs]) for p, rs in runs.items() if rs},
        "n_test": {p: rs[0]["n_test"] for p, rs in runs.items() if rs},
        "train_seconds": sum(r["train_seconds"] for r in every) / len(every),
        "peak_gpu_mib": max(peaks) if peaks else None,
        "devices": sorted({r.get("device", "?") for r in every}),
    }


def _render(data: SongSource, splits: dict[tuple[str, int], Split], rows: list[dict[str, Any]],
            settings: Settings, not_run: dict[str, str], failed: dict[str, str]) -> str:
    protocols = list(dict.fromkeys(k[0] for k in splits))
    seeds = sorted({k[1] for k in splits})
    text = (f"Data: {data.source}. Accuracy is per test song, mean ± standard deviation over "
            f"{len(seeds)} seed(s) of each split; 'filtered' is the fault-filtered split, random splits are by song. "
            "'train s' is the mean training time of a run.\n\n")
    if settings.budget == "tiny":
        text += (f"**Tiny budget**: at most {TINY_EPOCHS} epochs per training, randomly initialised encoders shrunk; "
                 "these figures test the pipeline and say nothing about the seeds' results.\n\n")
    text += _append_column(comparison_table(rows, protocols), "peak GPU MiB",
                           ["–" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}" for r in rows])
    for title, listed in (("Not run", not_run), ("Failed (see error.txt in the run folder; rerun to retry)", failed)):
        if listed:
            text += f"\n\n{title}:\n\n" + "\n".join(f"- {name}: {why}" for name, why in listed.items())
    return text


def reproduce(data: SongSource, splits: dict[tuple[str, int], Split], methods: list[str] | None, out: Path,
              settings: Settings = Settings()) -> Outcome:
    """Run, resume and tabulate; writes ``table.md`` and ``table.json`` into ``out``. A run that
    raises is recorded (``error.txt``) and the others go on."""
    names = methods or [n for n, s in sorted(specs().items()) if data.feeds(s.pipeline)]
    for name in names:
        if not data.feeds(get(name).pipeline):
            raise SystemExit(f"error: {data.source} cannot feed {name} (needs the {get(name).pipeline} pipeline)")
    unused = [k for k in settings.overrides if not any(_has_setting(get(n).config, k) for n in names)]
    if unused:
        raise SystemExit(f"error: no chosen method has the setting {', '.join(unused)}")
    overrides = {name: method_overrides(get(name), settings) for name in names}
    not_run: dict[str, str] = {}
    for name in names:
        try:
            create(name, data.labels, **overrides[name])
        except MethodUnavailable as exc:
            not_run[name] = str(exc)
    runnable = [n for n in names if n not in not_run]
    summaries = {(name, p): [] for name in runnable for p, _ in splits}
    failed: dict[str, str] = {}
    jobs = [(name, key) for name in runnable for key in splits]
    with tqdm(total=len(jobs), desc="reproduce") as bar:
        for name, (split_name, seed) in jobs:
            split, spec = splits[(split_name, seed)], get(name)
            folder = _run_path(out, name, split, seed)
            report = folder / "report.json"
            summary = json.loads(report.read_text()) if report.is_file() else None
            expected = _comparable(spec.make_config(**{**seeded_overrides(spec.config, seed), **overrides[name]}))
            if summary is None or summary["config"] != expected:
                bar.set_postfix_str(f"{name} {split_name} seed {seed}")
                try:
                    summary = _run(name, data, split, seed, overrides[name], settings.device)
                except Exception as exc:  # one broken run must not cost the others
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / "error.txt").write_text(traceback.format_exc())
                    failed[f"{name} ({split_name}, seed {seed})"] = f"{type(exc).__name__}: {exc}"
                    bar.update(1)
                    continue
                write_run(folder, summary)
                (folder / "error.txt").unlink(missing_ok=True)
            summaries[(name, split_name)].append(summary)
            bar.update(1)
    protocols = list(dict.fromkeys(k[0] for k in splits))
    rows = [_row(name, {p: summaries[(name, p)] for p in protocols}) for name in runnable
            if any(summaries[(name, p)] for p in protocols)]
    table = _render(data, splits, rows, settings, not_run, failed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n")
    listed = rows + [{"method": name, "seed": get(name).seed, "not_run": why} for name, why in not_run.items()]
    (out / "table.json").write_text(json.dumps([{**row, "budget": settings.budget} for row in listed], indent=2) + "\n")
    return Outcome(table, rows, not_run, failed)
