"""What the benchmark scripts share: the peak memory of a process tree."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class TreeMemory:
    """Peak resident memory of this process and all its descendants, sampled in a thread (Linux)."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.peak_mib = 0.0
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_mib() -> float:
        parent: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(entry.name)], rss[int(entry.name)] = int(fields[1]), int(fields[21])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
        tree, grew = {os.getpid()}, True
        while grew:
            more = {pid for pid, ppid in parent.items() if ppid in tree} - tree
            tree |= more
            grew = bool(more)
        return sum(rss.get(pid, 0) for pid in tree) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_mib = max(self.peak_mib, self._tree_mib())

    def __enter__(self) -> TreeMemory:
        self.peak_mib = self._tree_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
