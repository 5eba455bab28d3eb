"""``genre-tagger``: the app's command-line twin. With no arguments it opens the window."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from tagger.genres import DEFAULT_MAX_GENRES
from trainer.runtime.audio import AUDIO_EXTENSIONS, DEFAULT_MAX_WINDOWS, WindowSpec


def iter_audio_files(paths: list[Path]) -> Iterator[Path]:
    """Files as given, and everything named like audio under folders (recursive, sorted for stable
    output): links that lead nowhere, FIFOs and the like are yielded too, for the decoder to
    report (it never opens what is not a regular file)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and not p.is_dir())
        else:
            yield path


def window_spec(args: argparse.Namespace) -> WindowSpec | None:
    """The windowing the user asked for; ``None`` for the model's own (capped at
    ``DEFAULT_MAX_WINDOWS`` windows per track by the engine)."""
    if args.window is None and args.hop is None and args.max_windows is None:
        return None
    length = args.window or 30.0
    return WindowSpec(length_s=length, hop_s=args.hop or length, max_windows=args.max_windows)


@contextmanager
def progress_bar(desc: str, unit: str = "track") -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr (hidden when not a terminal) driven by a library progress callback."""
    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=None)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


@contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C asks the job to stop after the current file; a second one aborts."""
    stop = threading.Event()

    def ask(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        tqdm.write("stopping after the current file (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def open_db(args: argparse.Namespace):
    from tagger.library import open_library

    lib = open_library(args.db)
    if lib.backup is not None:
        print(f"catalogue upgraded; the previous version is saved as {lib.backup}", file=sys.stderr)
    return lib


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def print_list(title: str, items: list[tuple[str, str]]) -> None:
    """``path: reason`` lines under a heading, one line per file whatever its name holds."""
    from tagger.paths import shown

    if not items:
        return
    print(f"{title} ({len(items)}):")
    for path, reason in items:
        print(f"  {shown(path)}: {shown(reason)}")


def load_classifier(args: argparse.Namespace):
    """The model bundle named by ``--model`` (or the shipped default); None after printing why not."""
    from tagger.engine import Classifier
    from trainer.bundle import BundleError
    from trainer.methods.pretrained import MethodUnavailable

    try:
        return Classifier.load(args.model, device=args.device, window=window_spec(args),
                               exact_features=args.exact_features)
    except (BundleError, MethodUnavailable, ImportError, ValueError) as exc:  # what a user can fix: say it
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_classify_paths(args: argparse.Namespace) -> int:
    from tagger.engine.classifier import TrackFailure, caveat
    from tagger.paths import shown

    if args.max_genres < 1:
        print("error: --max-genres must be at least 1", file=sys.stderr)
        return 2
    classifier = load_classifier(args)
    if classifier is None:
        return 2
    files = list(iter_audio_files(args.paths))
    if not files:
        print("error: no audio files found in the given paths", file=sys.stderr)
        return 2
    tracks, failures = [], []
    results = classifier.classify_paths(files, workers=args.workers)
    for result in tqdm(results, total=len(files), desc="classify", unit="track", file=sys.stderr, disable=None):
        if isinstance(result, TrackFailure):
            failures.append({"path": str(result.path), "reason": result.reason})
            if not args.json:
                tqdm.write(f"skipped {shown(result.path)}: {shown(result.reason)}", file=sys.stderr)
            continue
        top = result.top(args.top)
        genres = result.genres(args.max_genres)
        descriptors = result.top_descriptors(args.top)
        why = caveat(result.padded, result.audio_fraction, result.truncated, result.duration_s)
        tracks.append({"path": str(result.path), "genre": top[0][0], "confidence": round(top[0][1], 4),
                       "genres": genres, "top": [{"genre": g, "p": round(p, 4)} for g, p in top],
                       "descriptors": [{"descriptor": d, "p": round(p, 4)} for d, p in descriptors],
                       "windows": result.n_windows, "padded": result.padded,
                       "audio_fraction": round(result.audio_fraction, 4), "truncated": result.truncated,
                       "caveat": why, "duration_s": round(result.duration_s, 2)})
        if not args.json:
            scores = dict(result.top(len(result.labels)))
            named = " / ".join(f"{g} {scores.get(g, 0.0):.0%}" for g in genres) or f"(no genre at {result.threshold:.0%})"
            others = ", ".join(f"{g} {p:.0%}" for g, p in top if g not in genres)
            heard = f"\t{{{', '.join(f'{d} {p:.0%}' for d, p in descriptors)}}}" if descriptors else ""
            note = f" (not to be trusted: {why})" if why else ""
            tqdm.write(f"{shown(result.path)}\t{named}{note}\t[{others}]{heard}\t"
                       f"{plural(result.n_windows, 'window')}")
    if args.json:
        json.dump({"model": classifier.bundle_id, "features": classifier.features, "threshold": classifier.threshold,
                   "tracks": tracks, "failures": failures}, sys.stdout, indent=2)
        print()
    else:
        print(f"{len(tracks)} classified, {len(failures)} skipped; model {classifier.bundle_id}", file=sys.stderr)
    return 1 if failures else 0


def cmd_classify_library(args: argparse.Namespace) -> int:
    from tagger.library import classify_library

    classifier = load_classifier(args)
    if classifier is None:
        return 2
    with open_db(args) as lib, stop_on_ctrl_c() as stop, progress_bar("classify") as progress:
        report = classify_library(lib, classifier, source=str(args.model.resolve()) if args.model else None,
                                  workers=args.workers, progress=progress, cancel=stop)
    status = 1 if report.failed else 0
    if args.json:
        json.dump({"model": classifier.bundle_id, "classified": report.classified, "cancelled": report.cancelled,
                   "failures": [{"path": p, "reason": r} for p, r in report.failed],
                   "caveats": [{"path": p, "caveat": c} for p, c in report.caveats]}, sys.stdout, indent=2)
        print()
        return status
    print_list("could not be classified", report.failed)
    print_list("classified, but the confidence is not to be trusted", report.caveats)
    left = " (stopped; run classify again to go on)" if report.cancelled else ""
    print(f"{report.classified} of {report.total} tracks classified with model {classifier.bundle_id}{left}")
    return status


def cmd_classify(args: argparse.Namespace) -> int:
    return cmd_classify_paths(args) if args.paths else cmd_classify_library(args)


def cmd_scan(args: argparse.Namespace) -> int:
    from tagger.library import scan

    with open_db(args) as lib, stop_on_ctrl_c() as stop, progress_bar("scan", "file") as progress:
        report = scan(lib, args.folders, progress=progress, cancel=stop)
    print_list("unreadable", report.unreadable)
    print_list("catalogued, with a fault", report.damaged)
    print_list("moved", report.moved)
    print_list("missing (kept in the catalogue)", [(p, "not found") for p in report.missing])
    print(f"{report.found} audio files: {report.added} new, {report.updated} updated, {report.unchanged} unchanged, "
          f"{len(report.moved)} moved, {len(report.missing)} missing; {plural(report.playlists, 'playlist')} imported"
          + ("; stopped early" if report.cancelled else ""))
    print(f"catalogue: {lib.path}")
    return 1 if report.unreadable or report.damaged else 0


def print_edits(report, verb: str) -> None:
    from tagger.paths import shown

    if report.recovered:
        print(f"settled {plural(report.recovered, 'edit')} an interrupted run had left unfinished")
    for change in report.changes:
        print(f"{verb} {shown(change.path)}: {change.old_genres or '(no genre)'} -> {change.new_genres or '(no genre)'}")
    print_list("failed", [(f.path, f.reason) for f in report.failed])
    reasons = Counter(skip.reason for skip in report.skipped)
    for reason, n in reasons.most_common():
        print(f"left alone: {n} ({reason})")


def cmd_write(args: argparse.Namespace) -> int:
    from tagger.library import WritePolicy, write_library

    policy = WritePolicy(mode=args.mode, min_confidence=args.min_confidence, max_genres=args.max_genres,
                         id3_version=3 if args.id3v23 else 4)
    with open_db(args) as lib, stop_on_ctrl_c() as stop, progress_bar("write") as progress:
        report = write_library(lib, policy, dry_run=args.dry_run, progress=progress, cancel=stop)
    print_edits(report, "would write" if args.dry_run else "wrote")
    if args.dry_run:
        print(f"dry run: {plural(len(report.changes), 'file')} would change; nothing was written")
    elif report.stopped:  # promise only what the journal can still keep
        note = ("'genre-tagger undo' reverts them once the catalogue can be written again" if report.journal_kept
                else "undo cannot revert them: their journal was in the lost catalogue (old genres listed above)")
        print(f"stopped: {report.stopped}; {plural(len(report.changes), 'file')} written before that; {note}")
    elif report.session_id is None:
        print("nothing to write")
    elif not report.changes:
        print("no file was written")
    else:
        print(f"{plural(len(report.changes), 'file')} written (session {report.session_id}; "
              f"'genre-tagger undo' reverts it)" + ("; stopped early" if report.cancelled else ""))
    return 1 if report.failed or report.stopped else 0


def cmd_undo(args: argparse.Namespace) -> int:
    from tagger.library import list_sessions, track_ids_for, undo

    with open_db(args) as lib:
        if args.list:
            for s in list_sessions(lib):
                print(f"session {s.id}  {s.kind:<5} {s.started_at}  {s.done} changed, {s.revertible} undoable")
            return 0
        track_ids = None
        if args.track:
            found = track_ids_for(lib, args.track)
            print_list("not in the catalogue", [(p, "unknown file") for p, i in found.items() if i is None])
            track_ids = [i for i in found.values() if i is not None]
        with stop_on_ctrl_c() as stop, progress_bar("undo") as progress:
            report = undo(lib, session_id=args.session, track_ids=track_ids, force=args.force,
                          progress=progress, cancel=stop)
    print_edits(report, "restored")
    print(f"{plural(len(report.changes), 'file')} restored" + (f"; stopped: {report.stopped}" if report.stopped else ""))
    return 1 if report.failed or report.stopped else 0


def cmd_profile(args: argparse.Namespace) -> int:
    from tagger.profile import (
        compute_profile,
        draw_chart,
        history,
        render_text,
        save_snapshot,
        to_json,
    )

    with open_db(args) as lib:
        profile = compute_profile(lib, args.by)
        past = history(lib, args.by)
        previous = past[-1] if past else None
        if not args.no_snapshot and save_snapshot(lib, profile):
            past.append(profile)
        chart = draw_chart(profile, args.chart or lib.path.with_name("profile.png"), past)
    if args.json:
        json.dump(to_json(profile, previous) | {"chart": str(chart)}, sys.stdout, indent=2)
        print()
    else:
        print(render_text(profile, previous, top=args.top))
        print(f"chart: {chart}")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    """Train a model on the catalogue's confirmed genres, as the settings' retrain window does."""
    from datetime import datetime

    from tagger.library.confirmed import confirmed_examples
    from tagger.training import TrainRequest, train
    from trainer.fit import Cancelled

    with open_db(args) as lib:
        examples = confirmed_examples(lib, [str(f.resolve()) for f in args.folders])
        library_name, models = str(lib.path), lib.path.parent / "models"
    if not examples:
        print("error: no track has a confirmed genre yet: confirm or accept genres first", file=sys.stderr)
        return 1
    out = args.out or models / f"{args.method}-{datetime.now():%Y%m%d-%H%M%S}"
    request = TrainRequest(method=args.method, out=str(out), examples=tuple(examples), library_name=library_name,
                           split=args.split, seed=args.seed, device=args.device)

    def send(kind: str, payload) -> None:
        if kind == "stage":
            print(f"{payload}...")

    print(f"{plural(len(examples), 'track')} with a confirmed genre")
    with stop_on_ctrl_c() as stop:
        try:
            outcome = train(request, send, stop.is_set)
        except ValueError as exc:  # too few confirmed songs, a split that leaves no test songs
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except Cancelled:
            print("stopped; no model was saved")
            return 1
    print(outcome.title)
    print(f"model: {outcome.bundle}  (use it with --model, or choose it in the window's settings)")
    return 0


def add_write_options(p: argparse.ArgumentParser) -> None:
    from tagger.library.write import MODES, WritePolicy

    policy = WritePolicy()
    p.add_argument("--mode", choices=MODES, default=policy.mode,
                   help="empty: only files without a genre (default); replace; or append to what is there")
    p.add_argument("--min-confidence", type=float, default=policy.min_confidence,
                   help=f"write genres at least this probable (default {policy.min_confidence})")
    p.add_argument("--max-genres", type=int, default=policy.max_genres,
                   help=f"at most this many genres per file (default {policy.max_genres})")
    p.add_argument("--id3v23", action="store_true", help="write ID3v2.3 instead of v2.4 (MP3, WAV, AIFF)")
    p.add_argument("--dry-run", "--pretend", action="store_true", help="show what would change, write nothing")


def add_profile_options(p: argparse.ArgumentParser) -> None:
    from tagger.profile.shares import WEIGHTINGS

    p.add_argument("--by", choices=WEIGHTINGS, default=WEIGHTINGS[0], help="weight by songs (default) or by time")
    p.add_argument("--chart", type=Path, help="chart image path (default: profile.png beside the catalogue)")
    p.add_argument("--top", type=int, default=5, help="genres to list per scope (default 5)")
    p.add_argument("--no-snapshot", action="store_true", help="do not save this profile as a snapshot")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given ``argv``, the options of a command whose defaults live in
    the catalogue's modules (SQLAlchemy: half a second to import) are added only when ``argv``
    names that command, so the others start without those imports."""
    from tagger.training import DEFAULT_METHODS

    def named(command: str) -> bool:
        return argv is None or command in argv

    parser = argparse.ArgumentParser(prog="genre-tagger", description=__doc__)
    parser.add_argument("--db", type=Path, help="catalogue file (default: library.db in the user data folder)")
    sub = parser.add_subparsers(dest="command")
    # --db after the command name as well; SUPPRESS keeps it from hiding a --db given before
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    p = sub.add_parser("scan", parents=[db], help="add folders to the catalogue, or refresh them")
    p.add_argument("folders", nargs="+", type=Path)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("classify", parents=[db],
                       help="classify files or folders and print genres; with no paths, the whole catalogue")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (recursive); none: every catalogue "
                   "track the model has not classified yet")
    p.add_argument("--model", type=Path, help="model bundle folder or zip (default: the shipped MSD genre tagger, resources/musicnn-msd)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--workers", type=int, help="decoding processes (default: one per core; 0 = none)")
    p.add_argument("--top", type=int, default=3,
                   help="how many genre scores (and descriptors) to show per track (default 3)")
    p.add_argument("--max-genres", type=int, default=DEFAULT_MAX_GENRES,
                   help="a multi-label model names at most this many genres per track, those above its "
                        f"threshold (default {DEFAULT_MAX_GENRES}); a GTZAN-10 model names its top genre")
    p.add_argument("--window", type=float, help="window length in seconds (default: the model's, 30)")
    p.add_argument("--hop", type=float, help="hop between windows in seconds (default: the window length)")
    p.add_argument("--max-windows", type=int, help="classify at most K windows spread over each track "
                   f"(default {DEFAULT_MAX_WINDOWS}: memory and time per track stay bounded however long it is)")
    p.add_argument("--exact-features", action="store_true",
                   help="compute features with the engine the model was trained with (e.g. librosa) instead of "
                        "its faster validated equivalent (torch)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("write", parents=[db], help="write predicted (or confirmed) genres into the files")
    if named("write"):
        add_write_options(p)
    p.set_defaults(func=cmd_write)

    p = sub.add_parser("undo", parents=[db], help="revert the last write (or a chosen session or tracks)")
    p.add_argument("--session", type=int, help="the write session to revert (see --list)")
    p.add_argument("--track", nargs="+", type=Path, help="revert the last change of these files only")
    p.add_argument("--force", action="store_true", help="also revert files whose genre changed since")
    p.add_argument("--list", action="store_true", help="list write and undo sessions")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("retrain", parents=[db], help="train a model on the genres you confirmed in the catalogue")
    p.add_argument("folders", nargs="*", type=Path, help="only tracks inside these folders (default: all)")
    p.add_argument("--method", default=DEFAULT_METHODS["library"],
                   help=f"a registered method (default {DEFAULT_METHODS['library']}: a head on MusiCNN's "
                   "embeddings, which learns from a few dozen songs a genre)")
    p.add_argument("--split", default="random-80-20", help="song-level split (default random-80-20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--out", type=Path, help="report and bundle folder (default: models/ beside the catalogue)")
    p.set_defaults(func=cmd_retrain)

    p = sub.add_parser("profile", parents=[db], help="genre shares of the library and playlists, over time")
    if named("profile"):
        add_profile_options(p)
    p.set_defaults(func=cmd_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a name the terminal cannot show must not stop a job
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if args.command is None:
        from tagger.gui import run_app

        return run_app()
    try:
        return args.func(args)
    except Exception as exc:
        if (status := catalogue_failure(exc, args)) is None:
            raise
        return status


def catalogue_failure(exc: Exception, args: argparse.Namespace) -> int | None:
    """Say what went wrong with the catalogue and return the exit status; ``None`` when ``exc`` is
    not a catalogue's fault. Its modules are imported only here, once something failed, so a
    command that never opens the catalogue never loads them."""
    from tagger.library import LibraryError, default_db_path
    from tagger.library.db import CATALOGUE_FAULTS, catalogue_fault
    from tagger.library.lock import WriteLocked
    from tagger.paths import shown

    if isinstance(exc, WriteLocked):  # another write holds the catalogue: nothing was done; run again later
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 1
    if isinstance(exc, LibraryError):
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 2
    if isinstance(exc, CATALOGUE_FAULTS):  # the catalogue failed mid-job: full disk, locked, damaged
        print(f"error: {shown(catalogue_fault(exc, args.db or default_db_path()))}", file=sys.stderr)
        return 2
    return None


if __name__ == "__main__":
    sys.exit(main())
