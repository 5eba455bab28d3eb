"""``genre-tagger``: the app's command-line twin. With no arguments it opens the window."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tqdm import tqdm

from tagger.genres import DEFAULT_MAX_GENRES
from trainer.runtime.audio import AUDIO_EXTENSIONS, DEFAULT_MAX_WINDOWS, WindowChoice
from trainer.runtime.device import configure_process


def iter_audio_files(paths: list[Path]) -> Iterator[Path]:
    """Files as given, and everything named like audio under folders (recursive, sorted for stable
    output): links that lead nowhere, FIFOs and the like are yielded too, for the decoder to
    report (it never opens what is not a regular file)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and not p.is_dir())
        else:
            yield path


def window_choice(args: argparse.Namespace) -> WindowChoice:
    """What the user changed of the model's own windows (nothing: the model's, capped at
    ``DEFAULT_MAX_WINDOWS`` windows per track by the engine)."""
    return WindowChoice(length_s=args.window, hop_s=args.hop, max_windows=args.max_windows)


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
    """The model bundle named by ``--model`` (or the shipped default); a ``UserError`` says why not."""
    from tagger.engine import Classifier

    return Classifier.load(args.model, device=args.device, window=window_choice(args),
                           exact_features=args.exact_features, patches=args.patches)


def cmd_classify_paths(args: argparse.Namespace) -> int:
    from tagger.engine.classifier import TrackFailure, caveat
    from tagger.paths import shown

    if args.max_genres < 1:
        print("error: --max-genres must be at least 1", file=sys.stderr)
        return 2
    classifier = load_classifier(args)
    files = list(iter_audio_files(args.paths))
    if not files:
        print("error: no audio files found in the given paths", file=sys.stderr)
        return 2
    tracks, failures = [], []
    # the worker processes end here: left to the interpreter's exit, their pool's shutdown races it
    with closing(classifier):
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
    with closing(classifier), open_db(args) as lib, stop_on_ctrl_c() as stop, progress_bar("classify") as progress:
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
    from trainer.runtime.errors import UserError
    from trainer.service import Cancelled, TrainRequest, train

    with open_db(args) as lib:
        examples = confirmed_examples(lib, [str(f.resolve()) for f in args.folders])
        library_name, models = str(lib.path), lib.path.parent / "models"
    if not examples:
        print("error: no track has a confirmed genre yet: confirm or accept genres first", file=sys.stderr)
        return 1
    out = args.out or models / f"{args.method}-{datetime.now():%Y%m%d-%H%M%S}"
    request = TrainRequest(method=args.method, out=str(out), examples=tuple(examples), examples_name=library_name,
                           split=args.split, seed=args.seed, device=args.device)

    def send(kind: str, payload) -> None:
        if kind == "stage":
            print(f"{payload}...")

    print(f"{plural(len(examples), 'track')} with a confirmed genre")
    with stop_on_ctrl_c() as stop:
        try:
            outcome = train(request, send, stop.is_set)
        except UserError as exc:  # too few confirmed songs, a split that leaves no test songs
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except Cancelled:
            print("stopped; no model was saved")
            return 1
    print(outcome.title)
    print(f"model: {outcome.bundle}  (use it with --model, or choose it in the window's settings)")
    return 0


def listing_filters(args: argparse.Namespace):
    """The ``Filters`` the list and accept options name; ``None`` after printing why they cannot."""
    from tagger.library.listing import Filters

    for option, value in (("--min-confidence", args.min_confidence), ("--max-confidence", args.max_confidence)):
        if value is not None and not 0.0 <= value <= 1.0:
            print(f"error: {option} must be between 0 and 1", file=sys.stderr)
            return None
    if args.genre is not None and not args.genre.strip():
        print("error: --genre cannot be empty", file=sys.stderr)
        return None
    return Filters(folders=tuple(str(f.expanduser().resolve()) for f in args.folder) if args.folder else None,
                   genre=args.genre and args.genre.strip(), min_confidence=args.min_confidence or 0.0,
                   max_confidence=args.max_confidence, status=args.status, text=args.search or "",
                   format=args.format, padded=args.padded, truncated=args.truncated)


def picked_tracks(lib, paths: list[Path]) -> tuple[list[int], bool]:
    """The catalogue ids of ``paths`` (printing those it does not hold), and whether all were found."""
    from tagger.library import track_ids_for

    found = track_ids_for(lib, paths)
    print_list("not in the catalogue", [(p, "unknown file") for p, i in found.items() if i is None])
    return [i for i in found.values() if i is not None], None not in found.values()


def cmd_list(args: argparse.Namespace) -> int:
    from tagger.library.listing import list_rows
    from tagger.paths import shown

    filters = listing_filters(args)
    if filters is None:
        return 2
    with open_db(args) as lib:
        listed = list_rows(lib, filters.query(), args.sort, args.descending)
    if args.json:
        json.dump([{"path": r.path, "title": r.title, "artist": r.artist, "album": r.album, "format": r.format,
                    "genres": r.genres, "accepted": r.confirmed, "status": r.review_status,
                    "written": r.shown_status == "written", "error": r.error,
                    "predicted": r.predicted, "confidence": r.confidence, "padded": r.padded,
                    "truncated": r.truncated} for r in listed], sys.stdout, indent=2)
        print()
        return 0
    for r in listed:
        predicted = f"{r.predicted} {r.confidence:.0%}" if r.predicted is not None else "-"
        accepted = "; ".join(r.confirmed or []) or "-"
        print(f"{r.shown_status:<12} {shown(predicted):<20} {shown(accepted):<20} {shown(r.path)}")
    print(plural(len(listed), "track"), file=sys.stderr)
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tagger.library.queries import TrackIds
    from tagger.library.review import AcceptRule, accept_predictions
    from tagger.paths import shown

    filters = listing_filters(args)
    if filters is None:
        return 2
    if args.max_genres < 1:
        print("error: --max-genres must be at least 1", file=sys.stderr)
        return 2
    rule = AcceptRule(min_confidence=filters.min_confidence, max_genres=args.max_genres,
                      keep_confirmed=not args.replace, include_untrusted=args.include_untrusted or None)
    with open_db(args) as lib:
        query, complete = filters.query(), True
        if args.paths:
            ids, complete = picked_tracks(lib, args.paths)
            query &= TrackIds(ids)
        # counted before accepting: what the rule leaves out for resting on padding or truncation
        with_untrusted = len(accept_predictions(lib, query, replace(rule, include_untrusted=True), dry_run=True))
        accepted = accept_predictions(lib, query, rule, dry_run=args.dry_run)
        untrusted = with_untrusted - len(accepted)
    for a in accepted:
        print(f"{'would accept' if args.dry_run else 'accepted'} {shown(a.path)}: {shown('; '.join(a.genres))}")
    if args.dry_run:
        print(f"dry run: {plural(len(accepted), 'track')} would be accepted; nothing was changed")
    else:
        print(f"{plural(len(accepted), 'track')} accepted" if accepted else "nothing to accept")
    if untrusted:
        print(f"left out: {plural(untrusted, 'prediction')} resting on padding or made on a truncated file "
              "(--include-untrusted accepts them too)")
    return 0 if complete else 1


def cmd_confirm(args: argparse.Namespace) -> int:
    from tagger.library import confirm_genres
    from tagger.paths import shown

    with open_db(args) as lib:
        ids, complete = picked_tracks(lib, args.paths)
        if ids:
            confirm_genres(lib, ids, None if args.clear else args.genre)
    if args.clear:
        print(f"cleared the accepted genres of {plural(len(ids), 'track')}")
    else:
        print(f"{shown('; '.join(args.genre))} confirmed for {plural(len(ids), 'track')}")
    return 0 if complete else 1


def cmd_confirmed(args: argparse.Namespace) -> int:
    """The confirmed genres as ``path,genre,song`` CSV, the file ``genre-trainer`` trains a library from."""
    from tagger.library.confirmed import confirmed_examples, write_examples_csv

    with open_db(args) as lib:
        examples = confirmed_examples(lib, [str(f.expanduser().resolve()) for f in args.folders])
    if not examples:
        print("error: no track has a confirmed genre yet: confirm or accept genres first", file=sys.stderr)
        return 1
    if args.csv is None:
        write_examples_csv(examples, sys.stdout)
        return 0
    try:  # a name that is not UTF-8 keeps its bytes in the file
        with open(args.csv, "w", encoding="utf-8", errors="surrogateescape", newline="") as out:
            write_examples_csv(examples, out)
    except OSError as exc:
        print(f"error: cannot write {args.csv}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{plural(len(examples), 'track')} with a confirmed genre written to {args.csv}", file=sys.stderr)
    return 0


def add_review_commands(sub: argparse._SubParsersAction, db: argparse.ArgumentParser,
                        named: Callable[..., bool]) -> None:
    """``list``, ``accept``, ``confirm`` and ``confirmed``: the window's review, on the command line
    (the filters' choices come from the catalogue's modules: added only where named)."""
    from tagger.options import DEFAULT_ACCEPT_CONFIDENCE

    def filter_options(p: argparse.ArgumentParser, min_confidence: float | None) -> None:
        from tagger.library.queries import STATUSES

        p.add_argument("--status", choices=STATUSES, help="only tracks in this review status")
        p.add_argument("--genre", help="only tracks with this genre predicted, accepted or in the file (any case)")
        p.add_argument("--min-confidence", type=float, default=min_confidence,
                       help="only predictions at least this confident"
                            + (f" (default {min_confidence})" if min_confidence else ""))
        p.add_argument("--max-confidence", type=float, help="only predictions at most this confident")
        p.add_argument("--folder", type=Path, action="append", help="only tracks under this folder (repeatable)")
        p.add_argument("--search", help="title, artist, album or path contains this text (any case)")
        p.add_argument("--format", help="only files of this format (mp3, flac, ogg, opus, m4a, wav, aiff)")
        p.add_argument("--padded", action="store_true", help="only predictions resting mostly on padding")
        p.add_argument("--truncated", action="store_true", help="only predictions made on truncated files")

    p = sub.add_parser("list", parents=[db], help="list catalogued tracks with their genres, filtered as in the window")
    if named("list"):
        from tagger.library.listing import SORT_KEYS

        filter_options(p, None)
        p.add_argument("--sort", choices=SORT_KEYS, default="file", help="sort by this column (default file)")
        p.add_argument("--descending", action="store_true", help="sort the other way")
        p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("accept", parents=[db], help="accept the predicted genres of the tracks the filters select")
    p.add_argument("paths", nargs="*", type=Path, help="only these files (default: every track the filters select)")
    if named("accept"):
        filter_options(p, DEFAULT_ACCEPT_CONFIDENCE)
    p.add_argument("--max-genres", type=int, default=1, help="at most this many genres per track: the top one, then "
                   "a multi-label model's others above its own threshold (default 1)")
    p.add_argument("--replace", action="store_true", help="also replace genres accepted or chosen before")
    p.add_argument("--include-untrusted", action="store_true",
                   help="also predictions resting on padding or made on truncated files")
    p.add_argument("--dry-run", "--pretend", action="store_true", help="show what would be accepted, change nothing")
    p.set_defaults(func=cmd_accept)

    p = sub.add_parser("confirm", parents=[db], help="give tracks your own genre, or clear the genre accepted")
    p.add_argument("paths", nargs="+", type=Path, help="catalogued files")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--genre", action="append", help="the genre (repeat for more than one)")
    what.add_argument("--clear", action="store_true", help="forget the accepted genres: back to review")
    p.set_defaults(func=cmd_confirm)

    p = sub.add_parser("confirmed", parents=[db], help="the confirmed genres as path,genre,song CSV (to train from)")
    p.add_argument("folders", nargs="*", type=Path, help="only tracks inside these folders (default: all)")
    p.add_argument("--csv", type=Path, help="write to this file (default: print)")
    p.set_defaults(func=cmd_confirmed)


def add_profile_options(p: argparse.ArgumentParser) -> None:
    from tagger.profile.shares import WEIGHTINGS

    p.add_argument("--by", choices=WEIGHTINGS, default=WEIGHTINGS[0], help="weight by songs (default) or by time")
    p.add_argument("--chart", type=Path, help="chart image path (default: profile.png beside the catalogue)")
    p.add_argument("--top", type=int, default=5, help="genres to list per scope (default 5)")
    p.add_argument("--no-snapshot", action="store_true", help="do not save this profile as a snapshot")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given ``argv``, the options of a command whose choices live in
    the catalogue's modules (SQLAlchemy: half a second to import) are added only when ``argv``
    names that command, so the others start without those imports."""
    from tagger.options import BY_KEY
    from trainer.service import DEFAULT_METHODS

    def named(*commands: str) -> bool:
        return argv is None or any(command in argv for command in commands)

    parser = argparse.ArgumentParser(prog="genre-tagger", description=__doc__)
    BY_KEY["library"].add_to(parser)
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
    for key in ("model", "device", "workers"):
        BY_KEY[key].add_to(p)
    p.add_argument("--top", type=int, default=3,
                   help="how many genre scores (and descriptors) to show per track (default 3)")
    p.add_argument("--max-genres", type=int, default=DEFAULT_MAX_GENRES,
                   help="a multi-label model names at most this many genres per track, those above its "
                        f"threshold (default {DEFAULT_MAX_GENRES}); a GTZAN-10 model names its top genre")
    BY_KEY["window_s"].add_to(p)
    BY_KEY["hop_s"].add_to(p)
    BY_KEY["patches"].add_to(p)
    p.add_argument("--max-windows", type=int, help="classify at most K windows spread over each track "
                   f"(default {DEFAULT_MAX_WINDOWS}: memory and time per track stay bounded however long it is)")
    p.add_argument("--exact-features", action="store_true",
                   help="compute features with the engine the model was trained with (e.g. librosa) instead of "
                        "its faster validated equivalent (torch)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("write", parents=[db], help="write predicted (or confirmed) genres into the files")
    for key in ("write_mode", "min_confidence", "max_genres", "id3v23"):
        BY_KEY[key].add_to(p)
    p.add_argument("--dry-run", "--pretend", action="store_true", help="show what would change, write nothing")
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
    BY_KEY["device"].add_to(p)
    p.add_argument("--out", type=Path, help="report and bundle folder (default: models/ beside the catalogue)")
    p.set_defaults(func=cmd_retrain)

    p = sub.add_parser("profile", parents=[db], help="genre shares of the library and playlists, over time")
    if named("profile"):
        add_profile_options(p)
    p.set_defaults(func=cmd_profile)

    add_review_commands(sub, db, named)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a name the terminal cannot show must not stop a job
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    configure_process()
    if args.command is None:
        from tagger.gui import run_app

        return run_app()
    from tagger.paths import shown
    from trainer.runtime.errors import UserError

    try:
        return args.func(args)
    except UserError as exc:  # what a user can fix: one line; anything else keeps its traceback
        from tagger.library.lock import WriteLocked

        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 1 if isinstance(exc, WriteLocked) else 2  # a locked catalogue: nothing was done; run again later
    except Exception as exc:
        if (status := catalogue_failure(exc, args)) is None:
            raise
        return status


def catalogue_failure(exc: Exception, args: argparse.Namespace) -> int | None:
    """Say what went wrong with the catalogue and return the exit status; ``None`` when ``exc`` is
    not a catalogue's fault. Its modules are imported only here, once something failed, so a
    command that never opens the catalogue never loads them."""
    from tagger.library import default_db_path
    from tagger.library.db import CATALOGUE_FAULTS, catalogue_fault
    from tagger.paths import shown

    if isinstance(exc, CATALOGUE_FAULTS):  # the catalogue failed mid-job: full disk, locked, damaged
        print(f"error: {shown(catalogue_fault(exc, args.db or default_db_path()))}", file=sys.stderr)
        return 2
    return None


if __name__ == "__main__":
    sys.exit(main())
