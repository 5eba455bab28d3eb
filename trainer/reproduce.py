"""``genre-trainer reproduce``: every chosen method on every (split, seed), one table at the end.

Each finished run is saved as JSON under ``out/runs/`` before the next starts, so an interrupted
reproduction resumes where it stopped and a finished one re-prints its table at once; a saved run
is redone only when its settings differ from what the method would get now.

``Settings`` carries what a researcher chooses once for all methods: weights for the methods on
pretrained models (``weights``: key -> local path or hub id, e.g. ``wav2vec2-large``,
``resnet18``), leave to start those from random initialisation instead, the device, a budget
and ``--set`` overrides, applied to the methods that have the setting. A method that cannot run
(no weights and no leave, a package missing) is listed under the table with what it needs.

Budgets: ``full`` trains with each seed's own epochs and patience (meant for a GPU); ``cpu`` caps
every training at ``CPU_EPOCHS`` epochs with early stopping on validation after ``CPU_PATIENCE``
epochs without progress, the networks that train a pretrained encoder (ImageNet, wav2vec2) at
``HEAVY_EPOCHS``, and every training at ``CPU_SECONDS`` of wall-clock time (it ends at the first
batch after the limit, keeping the best epoch's weights), and averages Kaggle figures over
``CPU_IMAGE_POOL`` x ``CPU_IMAGE_POOL`` pixels before the CNNs (the table says so), for CPU-only
machines: the limit bounds every run whatever its epoch costs, so the time of a whole reproduction
is known before it starts, but a run the limit cut depends on the machine's speed and is marked in
the table. ``tiny`` caps every training at ``TINY_EPOCHS`` epochs and shrinks what the methods
themselves shrink, for CI-sized runs whose figures say nothing about the seeds.

Audio data shorter than the seeds' 30-s clips is cut into shorter windows (see
``trainer.data.audio_source.fitted_window``); the table's "input" column then gives, per method,
the shape of what the network reads against what it read on the seed's 30-s clips.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from tqdm import tqdm

from trainer.data.splits import Split
from trainer.evaluate import spread
from trainer.methods import MethodSpec, create, get, specs
from trainer.methods.embedding_heads import EmbeddingMethod
from trainer.methods.pretrained import PretrainedMethod
from trainer.report import comparison_table, write_run
from trainer.run import SongSource, run_method, seeded_overrides
from trainer.runtime.audio import WindowSpec
from trainer.runtime.device import configure_process, resolve_device
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.features import make as make_pipeline
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.image_nets import ImageCnnConfig

TINY_EPOCHS = 2
CPU_EPOCHS = 30
CPU_PATIENCE = 5
HEAVY_EPOCHS = 5
CPU_SECONDS = 90.0
# Kaggle figures (spectrogram-image) averaged over 2x2 pixels: a quarter of the convolutions' work.
CPU_IMAGE_POOL = 2
Budget = Literal["full", "cpu", "tiny"]
# The seeds' clips: every seed trained on GTZAN's 30-s clips.
SEED_CLIP_S = 30.0


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


def _configs(config: Any, kind: type, prefix: str = "") -> dict[str, Any]:
    """Every ``kind`` config inside a (nested) config, by dotted path (with a trailing dot; "" for
    the config itself)."""
    if isinstance(config, kind):
        return {prefix: config}
    if not dataclasses.is_dataclass(config):
        return {}
    return {path: found for f in dataclasses.fields(config)
            for path, found in _configs(getattr(config, f.name), kind, f"{prefix}{f.name}.").items()}


def image_pool(config: Any) -> int:
    """How many pixels a side an image CNN config averages before its first block (1: none)."""
    return max((c.pool for c in _configs(config, ImageCnnConfig).values()), default=1)


def _has_setting(config: Any, key: str) -> bool:
    for part in key.split("."):
        if not dataclasses.is_dataclass(config) or part not in {f.name for f in dataclasses.fields(config)}:
            return False
        config = getattr(config, part)
    return True


def trains_an_encoder(spec: MethodSpec) -> bool:
    """Whether the method trains a pretrained encoder itself (ImageNet nets, wav2vec2 fine-tuning),
    as opposed to training a head on frozen embeddings or no encoder at all."""
    return issubclass(spec.family, PretrainedMethod) and not issubclass(spec.family, EmbeddingMethod)


def epoch_cap(spec: MethodSpec, budget: Budget) -> int | None:
    """The most epochs ``budget`` lets ``spec`` train (None: the seed's own)."""
    if budget == "tiny":
        return TINY_EPOCHS
    if budget == "cpu":
        return HEAVY_EPOCHS if trains_an_encoder(spec) else CPU_EPOCHS
    return None


def method_overrides(spec: MethodSpec, settings: Settings) -> dict[str, Any]:
    """The config overrides ``settings`` mean for one method (the run's seed aside); the user's
    own ``overrides`` come first (they may change which weights a method names) and win."""
    user = {k: v for k, v in settings.overrides.items() if _has_setting(spec.config, k)}
    config, overrides = spec.make_config(**user), {}
    cap = epoch_cap(spec, settings.budget)
    for path, train in _configs(config, TrainConfig).items():
        overrides[f"{path}device"] = settings.device
        if cap is not None:
            overrides[f"{path}epochs"] = min(cap, train.epochs)
        if settings.budget == "cpu":
            if train.patience is not None:
                overrides[f"{path}patience"] = min(CPU_PATIENCE, train.patience)
            overrides[f"{path}max_seconds"] = CPU_SECONDS
    if settings.budget == "cpu" and spec.pipeline == "spectrogram-image":
        overrides.update({f"{path}pool": CPU_IMAGE_POOL for path in _configs(config, ImageCnnConfig)})
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


def _window(data: SongSource) -> dict[str, Any] | None:
    """How the data's audio is cut (None for data that is not audio)."""
    window = getattr(data, "window", None)
    return window.to_dict() if window is not None else None


def _run(name: str, data: SongSource, split: Split, seed: int, overrides: dict[str, Any], device: str) -> dict[str, Any]:
    """One run's summary, with the data's windows, the device it ran on, its peak GPU memory
    (MiB, CUDA only) and, for a network, why its (last) training stopped."""
    on_cuda = resolve_device(device).type == "cuda"
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    result = run_method(name, data, split, seed=seed, overrides=overrides)
    summary = result.summary()
    fit_result = getattr(result.method, "fit_result", None)
    summary["stopped_by"] = fit_result.stopped_by if fit_result is not None else None
    summary["window"] = _window(data)
    summary["device"] = resolve_device(device).type
    summary["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1) if on_cuda else None
    return summary


def pipeline_shape(pipeline_name: str, params: dict[str, Any], seconds: float) -> tuple[int, ...]:
    """The shape of one window's input through a pipeline, for a window of ``seconds`` of noise."""
    pipeline = make_pipeline(pipeline_name, **params)
    noise = np.random.default_rng(0).normal(0, 0.05, (1, int(round(seconds * pipeline.sample_rate))))
    return tuple(pipeline(noise.astype(np.float32)).shape[1:])


def input_adaptation(spec: MethodSpec, window: WindowSpec | None, shapes: dict[Any, tuple[int, ...]],
                     overrides: dict[str, Any] | None = None) -> str:
    """How a method's input differs from the seed's ("" when it does not): where audio is cut into
    windows shorter than the seeds' 30-s clips, the window, the shape the network reads against
    the seed's and how much audio an embedding encoder sees; and an image a budget averages over
    pixel blocks before the network (``overrides``: the run's). ``shapes`` memoises pipeline runs."""
    parts: list[str] = []
    length = window.length_s if window is not None else SEED_CLIP_S
    ours, seeds = ((spec.pipeline, json.dumps(spec.pipeline_params, sort_keys=True), s) for s in (length, SEED_CLIP_S))
    if window is not None and length < SEED_CLIP_S:
        for key in (ours, seeds):
            if key not in shapes:
                shapes[key] = pipeline_shape(spec.pipeline, spec.pipeline_params, key[2])
        parts.append(f"{length:g}-s windows (seed: {SEED_CLIP_S:g}-s clips)")
        shown = ["×".join(map(str, shapes[k])) for k in (ours, seeds)]
        parts.append(f"input {shown[0]} (seed: {shown[1]})" if shown[0] != shown[1]
                     else f"input {shown[0]} drawn from {length:g} s (seed: from {SEED_CLIP_S:g} s)")
        embedded = getattr(spec.config, "seconds", None)
        if issubclass(spec.family, EmbeddingMethod) and embedded and embedded > length:
            parts.append(f"embeds {length:g} s (seed: the first {embedded:g} s)")
    pool = image_pool(spec.make_config(**(overrides or {})))
    if pool > 1:
        if ours not in shapes:
            shapes[ours] = pipeline_shape(spec.pipeline, spec.pipeline_params, length)
        height, width, channels = shapes[ours]
        parts.append(f"averaged over {pool}×{pool} pixels to {height // pool}×{width // pool}×{channels} "
                     "before the network (budget)")
    return "; ".join(parts)


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


def _row(name: str, runs: dict[str, list[dict[str, Any]]], adaptation: str) -> dict[str, Any]:
    """One table row from a method's run summaries per protocol."""
    spec = get(name)
    every = [r for rs in runs.values() for r in rs]
    peaks = [r["peak_gpu_mib"] for r in every if r.get("peak_gpu_mib") is not None]
    return {
        "method": name, "seed": spec.seed, "input": _input(spec), "adaptation": adaptation,
        "pretrained": every[0]["pretrained"],
        "published": spec.published, "seed_protocol": spec.seed_protocol,
        "results": {p: spread([r["accuracy"] for r in rs]) for p, rs in runs.items() if rs},
        "n_test": {p: rs[0]["n_test"] for p, rs in runs.items() if rs},
        "train_seconds": sum(r["train_seconds"] for r in every) / len(every),
        "epochs": sum(len(r["history"]) for r in every) / len(every) if every[0]["history"] else None,
        "time_cut": sum(r.get("stopped_by") == "time" for r in every), "runs": len(every),
        "peak_gpu_mib": max(peaks) if peaks else None,
        "devices": sorted({r.get("device", "?") for r in every}),
    }


def _range(values: list[float], spec: str) -> str:
    low, high = format(min(values), spec), format(max(values), spec)
    return low if low == high else f"{low}-{high}"


def describe_audio(data: SongSource) -> str:
    """One sentence on how an audio source's files became windows ("" for other data)."""
    window = getattr(data, "window", None)
    dataset = getattr(data, "dataset", None)
    if window is None or dataset is None:
        return ""
    w = window.length_s
    seconds = [i.seconds for i in dataset.items if i.seconds is not None]
    short = [x for x in seconds if x < w]
    long_ = [x for x in seconds if x >= w]
    text = (f"{len(data.songs)} songs in {len(dataset.items)} files, cut into {w:g}-s windows"
            f"{'' if w >= SEED_CLIP_S else f' (the seeds used {SEED_CLIP_S:g}-s clips)'}")
    if short:
        text += (f"; {len(short)} files of {_range(short, '.1f')} s are zero-padded to one window "
                 f"(by at most {w - min(short):.1f} s)")
    if long_:
        counts = [int((x - w) // window.hop_s) + 1 for x in long_]
        text += f"; {len(long_)} files of {_range(long_, '.1f')} s give {_range(counts, 'd')} windows each"
    return text + ". A song's prediction is the mean over all its windows."


def budget_text(budget: Budget) -> str:
    """What a budget did to training, for the table's text."""
    if budget == "tiny":
        return (f"**Tiny budget**: at most {TINY_EPOCHS} epochs per training, randomly initialised encoders shrunk; "
                "these figures test the pipeline and say nothing about the seeds' results.")
    if budget == "cpu":
        return (f"**CPU budget**: at most {CPU_EPOCHS} epochs per training (the seeds: 30 to 500), early stopping "
                f"after {CPU_PATIENCE} epochs without a better validation accuracy, keeping the best epoch's weights "
                f"(the seeds waited 10 to 20; a method its seed trained without early stopping still has none), "
                f"at most {HEAVY_EPOCHS} epochs for the networks that train a pretrained encoder (ImageNet nets, wav2vec2), "
                f"a time limit of {CPU_SECONDS:g} s per training: it ends at the first batch after the limit and the "
                f"epoch it cuts counts as one (each of a vote's networks has its own), and Kaggle figures averaged "
                f"over {CPU_IMAGE_POOL}×{CPU_IMAGE_POOL} pixels before the CNNs. 'epochs' is the mean number run; "
                f"'time-cut k/n' marks a method whose training the limit ended in k of its n runs.")
    return "**Full budget**: every training runs the seed's own epochs and early stopping."


def _render(data: SongSource, splits: dict[tuple[str, int], Split], rows: list[dict[str, Any]],
            settings: Settings, not_run: dict[str, str], failed: dict[str, str], waiting: list[str]) -> str:
    protocols = list(dict.fromkeys(k[0] for k in splits))
    seeds = sorted({k[1] for k in splits})
    text = (f"Data: {data.source}. {describe_audio(data)} Accuracy is per test song, mean ± standard deviation "
            f"over {len(seeds)} seed(s) of each split; 'filtered' is the fault-filtered split, random splits are "
            "by song (no song on both sides). 'train s' is the mean training time of a run.\n\n")
    text += budget_text(settings.budget) + "\n\n"
    text += _append_column(comparison_table(rows, protocols), "peak GPU MiB",
                           ["–" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}" for r in rows])
    for title, listed in (("Not yet measured (runs still to come)", {n: "not run yet" for n in waiting}),
                          ("Not run", not_run),
                          ("Failed (see error.txt in the run folder; rerun to retry)", failed)):
        if listed:
            text += f"\n\n{title}:\n\n" + "\n".join(f"- {name}: {why}" for name, why in listed.items())
    return text


def _write_table(out: Path, data: SongSource, splits: dict[tuple[str, int], Split], rows: list[dict[str, Any]],
                 settings: Settings, not_run: dict[str, str], failed: dict[str, str], waiting: list[str]) -> str:
    table = _render(data, splits, rows, settings, not_run, failed, waiting)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n")
    listed = rows + [{"method": name, "seed": get(name).seed, "not_run": why} for name, why in not_run.items()]
    limit = CPU_SECONDS if settings.budget == "cpu" else None
    (out / "table.json").write_text(json.dumps([{**row, "budget": settings.budget, "max_seconds": limit,
                                                 "window": _window(data)} for row in listed], indent=2) + "\n")
    return table


def reproduce(data: SongSource, splits: dict[tuple[str, int], Split], methods: list[str] | None, out: Path,
              settings: Settings = Settings(), jobs: int = 1) -> Outcome:
    """Run, resume and tabulate; ``table.md`` and ``table.json`` in ``out`` are rewritten after each
    method, so a long reproduction can be read while it runs. A run that raises is recorded
    (``error.txt``) and the others go on. ``jobs`` > 1 runs that many runs at once in worker
    processes, sharing the torch threads between them (see ``_execute``)."""
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
    protocols = list(dict.fromkeys(k[0] for k in splits))
    failed: dict[str, str] = {}
    found: dict[str, dict[tuple[str, int], dict[str, Any] | None]] = {n: {} for n in runnable}
    todo: list[Task] = []
    for name in runnable:
        for key in splits:
            saved = _saved_run(name, data, splits[key], key[1], overrides[name], out)
            if saved is not None:
                found[name][key] = saved
            else:
                todo.append(Task(name, key, _features_key(get(name), overrides[name])))
    rows: dict[str, dict[str, Any]] = {}
    shapes: dict[Any, tuple[int, ...]] = {}
    window = getattr(data, "window", None)

    def add_row(name: str) -> None:
        runs = {p: [r for (split_name, _), r in sorted(found[name].items()) if split_name == p and r is not None]
                for p in protocols}
        if any(runs.values()):
            rows[name] = _row(name, runs, input_adaptation(get(name), window, shapes, overrides[name]))

    def ordered() -> list[dict[str, Any]]:
        """The rows in the order the methods were asked for, whatever order their runs ended in."""
        return [rows[n] for n in runnable if n in rows]

    def waiting() -> list[str]:
        return [n for n in runnable if len(found[n]) < len(splits)]

    for name in runnable:
        if len(found[name]) == len(splits):
            add_row(name)
    _write_table(out, data, splits, ordered(), settings, not_run, failed, waiting())
    total = len(runnable) * len(splits)
    with tqdm(total=total, initial=total - len(todo), desc="reproduce") as bar:
        for task, summary, error in _execute(todo, data, splits, overrides, settings.device, jobs, bar):
            split = splits[task.key]
            folder = _run_path(out, task.name, split, task.key[1])
            if summary is None:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "error.txt").write_text(error.trace)
                failed[f"{task.name} ({split.name}, seed {task.key[1]})"] = error.message
            else:
                summary["data"] = data.source
                write_run(folder, summary)
                (folder / "error.txt").unlink(missing_ok=True)
            found[task.name][task.key] = summary
            bar.update(1)
            if len(found[task.name]) == len(splits):
                add_row(task.name)
                _write_table(out, data, splits, ordered(), settings, not_run, failed, waiting())
    table = _write_table(out, data, splits, ordered(), settings, not_run, failed, [])
    return Outcome(table, ordered(), not_run, failed)


def _saved_run(name: str, data: SongSource, split: Split, seed: int, overrides: dict[str, Any],
               out: Path) -> dict[str, Any] | None:
    """The saved run where its settings, windows and data match what it would get now, else None."""
    spec = get(name)
    report = _run_path(out, name, split, seed) / "report.json"
    summary = json.loads(report.read_text()) if report.is_file() else None
    expected = _comparable(spec.make_config(**{**seeded_overrides(spec.config, seed), **overrides}))
    if (summary is not None and summary["config"] == expected and summary.get("window") == _window(data)
            and summary.get("data") == data.source):
        return summary
    return None


@dataclass(frozen=True)
class Task:
    """One run still to do; ``features`` names the inputs it computes and caches on a first run."""

    name: str
    key: tuple[str, int]
    features: str


@dataclass(frozen=True)
class RunError:
    message: str
    trace: str


def _features_key(spec: MethodSpec, overrides: dict[str, Any]) -> str:
    """What a method's runs share in the caches: its pipeline, parameters, augmentation and encoder."""
    augment = bool(getattr(spec.make_config(**overrides), "augment", False))
    return json.dumps([_input(spec), spec.pipeline_params, augment], sort_keys=True)


def _attempt(name: str, data: SongSource, split: Split, seed: int, overrides: dict[str, Any],
             device: str) -> tuple[dict[str, Any] | None, RunError | None]:
    """One run's summary, or why it failed: one broken run must not cost the others."""
    try:
        return _run(name, data, split, seed, overrides, device), None
    except Exception as exc:
        return None, RunError(f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _execute(todo: list[Task], data: SongSource, splits: dict[tuple[str, int], Split],
             overrides: dict[str, dict[str, Any]], device: str, jobs: int,
             bar: tqdm) -> Iterator[tuple[Task, dict[str, Any] | None, RunError | None]]:
    """Run ``todo`` and yield each task with its summary or error as it ends: in this process when
    ``jobs`` is 1, else in ``jobs`` spawned workers with an equal share of the torch threads. A run
    that computes features other runs will read (the first of its ``features`` key) runs alone
    for that key, so the workers never compute the same features twice; other keys go on meanwhile."""
    if jobs <= 1:
        for task in todo:
            bar.set_postfix_str(f"{task.name} {task.key[0]} seed {task.key[1]}")
            yield task, *_attempt(task.name, data, splits[task.key], task.key[1], overrides[task.name], device)
        return
    pending, running, ready, computing = list(todo), {}, set(), set()
    context = multiprocessing.get_context("spawn")
    threads = max(1, torch.get_num_threads() // jobs)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=configure_process, initargs=(threads,)) as pool:
        while pending or running:
            while len(running) < jobs:
                task = next((t for t in pending if t.features in ready or t.features not in computing), None)
                if task is None:
                    break
                pending.remove(task)
                if task.features not in ready:
                    computing.add(task.features)
                running[pool.submit(_attempt, task.name, data, splits[task.key], task.key[1],
                                    overrides[task.name], device)] = task
            bar.set_postfix_str(", ".join(f"{t.name} {t.key[0]} seed {t.key[1]}" for t in running.values()))
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                ready.add(task.features)
                computing.discard(task.features)
                try:
                    yield task, *future.result()
                except BrokenProcessPool as exc:  # a worker was killed (out of memory, a signal)
                    yield task, None, RunError(f"the worker process died: {exc}", traceback.format_exc())
