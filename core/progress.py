"""A plain progress bar for management commands (no dependency, works in a pipe too)."""

from __future__ import annotations

import time
from typing import Any


class ProgressBar:
    def __init__(self, out: Any, total: int, label: str = "", width: int = 30) -> None:
        self.out, self.total, self.label, self.width = out, max(total, 0), label, width
        self.done = 0
        self.started = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()
        self._last_print = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.tty or now - self._last_print >= 1.0 or self.done >= self.total:
            self._last_print = now
            self._draw()

    def _draw(self) -> None:
        fraction = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(self.width * fraction)
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:6.1%} "
            f"{self.done}/{self.total} ({rate:,.0f}/s)"
        )
        self.out.write(("\r" + line) if self.tty else (line + "\n"))
        self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
