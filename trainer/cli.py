"""``genre-trainer``: train, compare and export the seed methods from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from trainer.data.sources import build_split, open_dataset
from trainer.data.splits import SPLIT_NAMES
from trainer.runtime.device import configure_process
from trainer.runtime.errors import UserError
from trainer.runtime.features import make as make_pipeline
from trainer.service import parse_overrides


def save_table(out: Path, stem: str, results: Any, table: str) -> None:
    """A study's results as ``out/STEM.json`` and its Markdown table as ``out/STEM.md``; print the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{stem}.md").write_text(table + "\n")
    print(table)


def open_data(args: argparse.Namespace):
    """The dataset the ``--data`` options name, cut into ``--window`` windows where given."""
    return open_dataset(args.data, window=getattr(args, "window", None))


def _epoch_printer(log: dict[str, Any]) -> None:
    valid = ("" if log["valid_accuracy"] is None
             else f"  valid loss {log['valid_loss']:.4f}  valid acc {log['valid_accuracy']:.3f}")
    print(f"epoch {log['epoch']:4d}  train loss {log['train_loss']:.4f}{valid}  ({log['seconds']:.1f}s)", file=sys.stderr)


def cmd_methods(args: argparse.Namespace) -> int:
    from trainer.methods import specs

    for name, spec in sorted(specs().items()):
        print(f"{name:26s} seed {spec.seed}  published {spec.published or '–':>8s}  {spec.summary}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from trainer.service import Cancelled, TrainRequest, read_examples, train

    def send(kind: str, payload: Any) -> None:
        if kind == "stage":
            print(f"{payload}...", file=sys.stderr)
        elif kind == "epoch" and args.verbose:
            _epoch_printer(payload)

    examples = read_examples(args.examples) if args.examples else ()
    label = f"{args.method}-{Path(args.examples).stem if args.examples else args.split}-seed{args.seed}"
    request = TrainRequest(method=args.method, out=str(args.out or f"runs/{label}"),
                           data=tuple(str(p) for p in args.data or ()), examples=examples,
                           examples_name=str(args.examples), window_s=args.window, split=args.split,
                           splits_dir=str(args.splits_dir) if args.splits_dir else None, seed=args.seed,
                           overrides=parse_overrides(args.set), device=args.device,
                           export_bundle=not args.no_bundle)
    try:
        outcome = train(request, send)
    except Cancelled:
        print("stopped; no model was saved", file=sys.stderr)
        return 1
    print(outcome.title)
    print(f"report: {Path(outcome.report_dir) / 'report.json'}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from trainer.data.feature_cache import default_cache_dir
    from trainer.reproduce import Settings, reproduce, weight_keys

    weights = {}
    for pair in args.weights:
        key, sep, where = pair.partition("=")
        if not sep or key not in weight_keys():
            raise SystemExit(f"error: --weights expects KEY=PATH_OR_HUB_ID with KEY one of {', '.join(weight_keys())}; "
                             f"got {pair!r}")
        weights[key] = where
    settings = Settings(weights=weights, allow_random_init=args.allow_random_init, device=args.device,
                        budget=args.budget, cache_dir=str(default_cache_dir()), overrides=parse_overrides(args.set))
    data = open_data(args)
    splits = {(name, seed): build_split(data, name, seed, args.data, args.splits_dir)
              for name in args.splits for seed in range(args.seeds)}
    outcome = reproduce(data, splits, methods=args.methods, out=Path(args.out), settings=settings, jobs=args.jobs)
    print(outcome.table)
    return 1 if outcome.failed else 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from trainer.studies import bootstrap, plot_bootstrap

    data = open_data(args)
    split = build_split(data, args.split, args.seed, args.data, args.splits_dir)
    with tqdm(total=args.n, desc=f"bootstrap {args.method}") as bar:
        result = bootstrap(args.method, data, split, n=args.n, seed=args.seed, overrides=parse_overrides(args.set),
                           progress=lambda done, total: bar.update(1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bootstrap.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_bootstrap(result, out / "bootstrap.png")
    s = result["stats"]
    print(f"{args.method} on {split.name}: median {s['median']:.1%}, 95% of refits in "
          f"[{s['ci95'][0]:.1%}, {s['ci95'][1]:.1%}] over {result['n_test']} test songs, {args.n} refits")
    return 0


def cmd_curve(args: argparse.Namespace) -> int:
    from trainer.studies import plot_size_curve, size_curve

    data = open_data(args)
    split = build_split(data, args.split, args.seed, args.data, args.splits_dir)
    with tqdm(total=9 * args.seeds, desc=f"size curve {args.method}") as bar:
        result = size_curve(args.method, data, split, seeds=args.seeds, overrides=parse_overrides(args.set),
                            progress=lambda done, total: bar.update(1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "size_curve.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_size_curve(result, out / "size_curve.png")
    for p in result["points"]:
        print(f"{p['n_train']:5d} training songs: {p['mean']:.1%} ± {p['std']:.1%}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from trainer.figures import clip_figures
    from trainer.runtime.audio import decode

    audio = decode(args.clip, args.sample_rate)
    written = clip_figures(audio.samples[: int(args.seconds * args.sample_rate)], args.sample_rate, args.out,
                           stem=args.clip.stem)
    for view, path in written.items():
        print(f"{view:16s} {path}")
    return 0


def cmd_umap(args: argparse.Namespace) -> int:
    from trainer.figures import umap_figure

    data = open_dataset(args.data)
    if not data.feeds("gtzan-csv"):
        raise SystemExit("error: the UMAP map needs the GTZAN CSV features")
    pipeline = make_pipeline("gtzan-csv")
    arrays = data.arrays(list(data.songs), pipeline, data.labels)
    path = umap_figure(arrays.x, [data.labels[i] for i in arrays.y], Path(args.out),
                       title=f"UMAP of {len(arrays.y)} clips' GTZAN features ({data.source})")
    print(path)
    return 0


def cmd_synthetic(args: argparse.Namespace) -> int:
    from trainer.data.synthetic import STYLES, generate

    out = generate(args.out, n_per_class=args.per_genre, duration_s=args.seconds, sample_rate=args.rate, seed=args.seed)
    print(f"wrote {args.per_genre} clips of {args.seconds:g} s for each of {len(STYLES)} genres "
          f"({', '.join(s.name for s in STYLES)}) under {out}")
    return 0


def cmd_leak(args: argparse.Namespace) -> int:
    from trainer.leak import leak_study, leak_table

    data = open_data(args)
    if not hasattr(data, "with_window"):
        raise SystemExit("error: the leak study cuts audio into segments; --data must be an audio folder")
    seeds = range(args.seed, args.seed + args.seeds)
    splits = {seed: build_split(data, args.split, seed, args.data, args.splits_dir) for seed in seeds}
    overrides = parse_overrides(args.set)
    results = []
    for name, seed in tqdm([(n, s) for n in args.methods for s in seeds], desc="leak study"):
        results.append(leak_study(name, data, splits[seed], seed=seed, overrides=overrides, segment_s=args.segment_s))
    save_table(Path(args.out), "leak", results, leak_table(results))
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    from trainer.grid import GRIDS, grid_search, grid_settings, grid_table

    grid = {k: v if isinstance(v, tuple) else (v,) for k, v in parse_overrides(args.axis).items()} or None
    if grid is None and args.method not in GRIDS:
        raise SystemExit(f"error: no published grid for {args.method}; give axes with --axis KEY=[v1,v2]")
    data = open_data(args)
    split = build_split(data, args.split, args.seed, args.data, args.splits_dir)
    total = len(grid_settings(grid or GRIDS[args.method], args.limit, args.seed))
    with tqdm(desc=f"grid {args.method}", total=total) as bar:
        result = grid_search(args.method, data, split, grid=grid, seed=args.seed, limit=args.limit,
                             overrides=parse_overrides(args.set), progress=lambda done, n: bar.update(1))
    save_table(Path(args.out), "grid", result, grid_table(result))
    best = result["best"]
    if best is None:
        print("no setting could be trained", file=sys.stderr)
        return 1
    print(f"best on validation: {best['setting']} -> valid {best['valid_accuracy']:.1%}, "
          f"test {best['test_accuracy']:.1%} over {best['n_test']} test songs")
    return 0


def cmd_upgrade_bundle(args: argparse.Namespace) -> int:
    from trainer.bundle import upgrade

    for path in args.paths:
        manifest = upgrade(path)
        print(f"{path}: format {manifest.format_version}, model family {manifest.family}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("+").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genre-trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser, split: bool = True, window: bool = True, examples: bool = False) -> None:
        data_help = ("features CSV (features_30_sec.csv) or an audio folder (GTZAN layout or one folder per "
                     "genre); give several audio folders to join them (a song id in two is one song)")
        if examples:
            source = p.add_mutually_exclusive_group(required=True)
            source.add_argument("--data", type=Path, action="append", help=data_help)
            source.add_argument("--examples", type=Path, metavar="CSV",
                                help="labelled audio files: a CSV with path, genre and song columns, such as the "
                                     "genres you confirmed, written by `genre-tagger confirmed --csv FILE`")
        else:
            p.add_argument("--data", type=Path, required=True, action="append", help=data_help)
        if window:
            p.add_argument("--window", type=float, metavar="SECONDS",
                           help="audio window length (default: 30 s, or the longest clip rounded up to a whole "
                                "second where clips are shorter)")
        if split:
            p.add_argument("--split", choices=SPLIT_NAMES, default="filtered", help="song-level split (default: filtered)")
            p.add_argument("--seed", type=int, default=0)
        p.add_argument("--splits-dir", type=Path, help="folder of *_filtered.txt (default: found beside the data)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.epochs=20 --set drop_columns=[\"length\"]")

    sub.add_parser("methods", help="list the registered methods").set_defaults(func=cmd_methods)

    p = sub.add_parser("train", help="train one method on one split; write a report folder and a bundle")
    p.add_argument("method")
    data_args(p, examples=True)
    p.add_argument("--out", help="report folder (default runs/METHOD-SPLIT-seedN)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--no-bundle", action="store_true", help="skip exporting the model bundle")
    p.add_argument("-v", "--verbose", action="store_true", help="print every epoch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reproduce", help="run methods on several splits and seeds; table against the seeds' figures")
    data_args(p, split=False)
    p.add_argument("--methods", nargs="*", help="method names (default: every method the data can feed)")
    p.add_argument("--splits", nargs="+", choices=SPLIT_NAMES, default=["random-80-20", "filtered"])
    p.add_argument("--seeds", type=int, default=3, help="seeds per split (default 3)")
    p.add_argument("--out", default="runs/reproduce", help="folder for results; finished runs are reused")
    p.add_argument("--weights", action="append", default=[], metavar="KEY=PATH",
                   help="pretrained weights for the methods that name KEY: a folder saved by save_pretrained or a "
                        "hub id (wav2vec2-base, wav2vec2-large), a torchvision state dict .safetensors/.pth "
                        "(alexnet, vgg16, resnet18, inception_v3), an EnCodecMAE checkpoint name (encodecmae)")
    p.add_argument("--allow-random-init", action="store_true",
                   help="run methods without their weights from random initialisation (tables say 'not pretrained')")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--jobs", type=_positive_int, default=1,
                   help="runs at once, in worker processes sharing the CPU threads (default 1; on a CPU-only "
                        "machine, its number of cores)")
    p.add_argument("--budget", choices=("full", "cpu", "tiny"), default="full",
                   help="full: the seeds' own epochs (for a GPU); cpu: at most 30 epochs, early stopping after 5 "
                        "without progress, 5 for nets that train a pretrained encoder, 90 s per training "
                        "(ends at the first batch after it) and Kaggle figures averaged over 2x2 pixels; tiny: at "
                        "most 2 epochs and tiny random encoders, for CI-sized runs (default full)")
    p.set_defaults(func=cmd_reproduce)

    for name, func, helptext in (("bootstrap", cmd_bootstrap, "refit on bootstrap draws of the training songs"),
                                 ("curve", cmd_curve, "accuracy against training-set size (9 sizes)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("method")
        data_args(p)
        p.add_argument("--out", default=f"runs/{name}")
        if name == "bootstrap":
            p.add_argument("--n", type=int, default=100, help="number of refits (default 100)")
        else:
            p.add_argument("--seeds", type=int, default=3, help="subsets per size (default 3)")
        p.set_defaults(func=func)

    p = sub.add_parser("plot", help="seed 001's views of a clip: waveform, spectrograms, rolloff, chroma")
    p.add_argument("clip", type=Path)
    p.add_argument("--out", type=Path, default=Path("runs/plots"))
    p.add_argument("--seconds", type=float, default=30.0, help="how much of the clip to draw (default 30)")
    p.add_argument("--sample-rate", type=int, default=22050)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("umap", help="seed 003's UMAP map of clip features coloured by genre")
    p.add_argument("--data", type=Path, required=True, help="features CSV (features_30_sec.csv)")
    p.add_argument("--out", default="runs/umap.png")
    p.set_defaults(func=cmd_umap)

    p = sub.add_parser("synthetic", help="write the synthetic genre set: a folder per genre of WAV clips")
    p.add_argument("out", type=Path)
    p.add_argument("--per-genre", type=int, default=20, help="clips per genre (default 20)")
    p.add_argument("--seconds", type=float, default=10.0, help="clip length (default 10)")
    p.add_argument("--rate", type=int, default=22050, help="sample rate (default 22050)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_synthetic)

    p = sub.add_parser("leak", help="seed 002's leak: segments split at random beside the song-level split")
    p.add_argument("methods", nargs="*", default=["mfcc-fc", "mfcc-cnn", "mfcc-chroma-rnn"],
                   help="methods to study (default: seed 002's three)")
    data_args(p, window=False)
    p.add_argument("--seeds", type=int, default=1,
                   help="study this many seeds from --seed on, each with its own song-level split (default 1)")
    p.add_argument("--segment-s", type=float, help="segment length in seconds (default: the method's own, else 3)")
    p.add_argument("--out", default="runs/leak")
    p.set_defaults(func=cmd_leak)

    p = sub.add_parser("grid", help="hyper-parameter grid, chosen on validation (default: seed 000's cnn-image grid)")
    p.add_argument("method", nargs="?", default="cnn-image")
    data_args(p)
    p.add_argument("--axis", action="append", default=[], metavar="KEY=[V1,V2]",
                   help="grid axis replacing the published grid, e.g. --axis train.lr=[0.001,0.0001]")
    p.add_argument("--limit", type=int, help="train this many settings drawn at random (seeded) instead of all")
    p.add_argument("--out", default="runs/grid")
    p.set_defaults(func=cmd_grid)

    p = sub.add_parser("upgrade-bundle", help="rewrite a format-1 bundle folder's bundle.json in the current format")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="bundle folder(s)")
    p.set_defaults(func=cmd_upgrade_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_process()
    try:
        return args.func(args)
    except UserError as exc:  # what a user can fix is one line; anything else keeps its traceback
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
