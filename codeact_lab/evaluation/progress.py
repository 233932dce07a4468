"""A progress bar on stderr: redrawn in place on a terminal, one line per task elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    def __init__(self, total: int, done: int = 0, out: TextIO | None = None, width: int = 28):
        self.total = total
        self.done = done
        self.solved = 0
        self.out = out or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.live = self.out.isatty()
        if self.live:
            self._draw()

    def _bar(self) -> str:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        elapsed = time.monotonic() - self.started
        return (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
            f"· solved {self.solved} · {elapsed:.0f} s"
        )

    def _draw(self) -> None:
        self.out.write("\r" + self._bar())
        self.out.flush()

    def update(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.solved += bool(record.get("solved"))
        if self.live:
            self._draw()
            return
        outcome = (
            f"error: {record['error']}"
            if record.get("error")
            else ("solved" if record.get("solved") else "failed") + f" in {record['turns']} turns"
        )
        self.out.write(
            f"[{self.done:>{len(str(self.total))}}/{self.total}] {record['mode']:<4} "
            f"{record['task']}: {outcome} ({record['wall_s']:.1f} s)\n"
        )
        self.out.flush()

    def close(self) -> None:
        if self.live:
            self.out.write("\n")
            self.out.flush()
