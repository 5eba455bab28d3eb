"""Reports: one folder per run (report.json, confusion matrix, per-genre table, bundle) and the
side-by-side table of this project's figures against the seeds' published ones."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainer.figures import confusion_matrix_figure


def per_genre_table(per_genre: dict[str, dict[str, float]]) -> str:
    lines = ["| genre | precision | recall | F1 | songs |", "|---|---:|---:|---:|---:|"]
    for genre, row in per_genre.items():
        lines.append(f"| {genre} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    return "\n".join(lines)


def run_title(summary: dict[str, Any]) -> str:
    split = summary["split"]
    return (f"{summary['method']} on {split['name']} ({split['protocol']}): accuracy "
            f"{summary['accuracy']:.1%} over {summary['n_test']} test songs")


def write_run(folder: Path, summary: dict[str, Any]) -> Path:
    """Write report.json, confusion.png and per_genre.md for one run into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    confusion_matrix_figure(summary["confusion_matrix"], summary["labels"], folder / "confusion.png",
                            title=run_title(summary))
    (folder / "per_genre.md").write_text(f"{run_title(summary)}\n\n{per_genre_table(summary['per_genre'])}\n")
    return folder


def _cell(stats: dict[str, float] | None) -> str:
    if not stats:
        return "–"
    if stats["n"] == 1:
        return f"{100 * stats['mean']:.1f}"
    return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"


def _train_cell(row: dict[str, Any]) -> str:
    """Mean training seconds, marked where a time limit ended training (the figure then depends
    on the machine's speed)."""
    text = f"{row['train_seconds']:.1f}"
    return f"{text} (time-cut {row['time_cut']}/{row['runs']})" if row.get("time_cut") else text


def comparison_table(rows: Iterable[dict[str, Any]], protocols: list[str]) -> str:
    """Markdown: method, input (and how it was adapted, where any row was), pretrained, published
    figure and protocol, then ours per protocol.

    Each row carries ``method``, ``input``, ``published``, ``seed_protocol``, ``pretrained``,
    ``train_seconds``, optionally ``adaptation``, ``epochs`` (mean epochs run; None for methods
    without epochs), ``time_cut`` and ``runs`` (runs a time limit ended, of all), and, per
    protocol, accuracy statistics from ``evaluate.spread`` plus the number of test songs.
    """
    rows = list(rows)
    adapted = any(row.get("adaptation") for row in rows)
    counted = any(row.get("epochs") is not None for row in rows)
    head = ["method", "seed", "input", *(["input adapted to the data"] if adapted else []), "pretrained",
            "published %", "seed's protocol"]
    head += [f"ours % ({p})" for p in protocols] + ["test songs", "train s", *(["epochs"] if counted else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        pretrained = {True: "yes", False: "**not pretrained**", None: "–"}[row.get("pretrained")]
        cells = [row["method"], row["seed"], row["input"], *([row.get("adaptation") or "as the seed"] if adapted else []),
                 pretrained, row["published"] or "–", row["seed_protocol"] or "–"]
        cells += [_cell(row["results"].get(p)) for p in protocols]
        cells += [" / ".join(str(row["n_test"].get(p, "–")) for p in protocols), _train_cell(row)]
        if counted:
            cells.append("–" if row.get("epochs") is None else f"{row['epochs']:.1f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)
