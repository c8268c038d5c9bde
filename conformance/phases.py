"""How long each phase of a case took (build, boot, connect, trigger, settle, stop, ...)."""

from __future__ import annotations

import time


class Phases:
    """How long each phase of a case took, in order (for benchmarks and the curious)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def end(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = round(now - self._last, 3)
        self._last = now
