"""``genre-trainer reproduce``: every chosen method on every (split, seed), one table at the end.

Each finished run is saved as JSON under ``out/runs/`` before the next starts, so an interrupted
reproduction resumes where it stopped and a finished one re-prints its table at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from trainer.data.splits import Split
from trainer.evaluate import spread
from trainer.methods import get, specs
from trainer.report import comparison_table, write_run
from trainer.run import SongSource, run_method


def _run_path(out: Path, method: str, split: Split, seed: int) -> Path:
    return out / "runs" / method / f"{split.name}-seed{seed}"


def reproduce(data: SongSource, splits: dict[tuple[str, int], Split], methods: list[str] | None, out: Path,
              overrides: dict[str, Any] | None = None) -> str:
    """Run, resume and tabulate; writes ``table.md`` and ``table.json`` into ``out``."""
    names = methods or [n for n, s in sorted(specs().items()) if data.feeds(s.pipeline)]
    for name in names:
        if not data.feeds(get(name).pipeline):
            raise SystemExit(f"error: {data.source} cannot feed {name} (needs the {get(name).pipeline} pipeline)")
    jobs = [(name, key) for name in names for key in splits]
    rows = []
    summaries: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tqdm(total=len(jobs), desc="reproduce") as bar:
        for name, (split_name, seed) in jobs:
            split = splits[(split_name, seed)]
            folder = _run_path(out, name, split, seed)
            report = folder / "report.json"
            if report.is_file():
                summary = json.loads(report.read_text())
            else:
                bar.set_postfix_str(f"{name} {split_name} seed {seed}")
                summary = run_method(name, data, split, seed=seed, overrides=overrides).summary()
                write_run(folder, summary)
            summaries.setdefault((name, split_name), []).append(summary)
            bar.update(1)
    protocols = list(dict.fromkeys(k[0] for k in splits))
    for name in names:
        spec = get(name)
        runs = {p: summaries[(name, p)] for p in protocols}
        first = next(iter(runs.values()))[0]
        rows.append({
            "method": name, "seed": spec.seed, "input": spec.pipeline, "pretrained": first["pretrained"],
            "published": spec.published, "seed_protocol": spec.seed_protocol,
            "results": {p: spread([r["accuracy"] for r in rs]) for p, rs in runs.items()},
            "n_test": {p: rs[0]["n_test"] for p, rs in runs.items()},
            "train_seconds": sum(r["train_seconds"] for rs in runs.values() for r in rs) / sum(len(rs) for rs in runs.values()),
        })
    seeds = sorted({k[1] for k in splits})
    header = (f"Data: {data.source}. Accuracy is per test song, mean ± standard deviation over "
              f"{len(seeds)} seed(s) of each split; 'filtered' is the fault-filtered split, random splits are by song.\n\n")
    table = header + comparison_table(rows, protocols)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n")
    (out / "table.json").write_text(json.dumps(rows, indent=2) + "\n")
    return table
