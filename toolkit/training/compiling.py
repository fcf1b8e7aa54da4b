"""``torch.compile``'s own time, told apart from training: the first step compiles, the later ones only run."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("toolkit")

LATER_STEPS = 20
"""Steps after the first whose median stands for a step's time without compiling."""


@dataclass
class CompileTiming:
    """The seconds of a run's first training step (which compiles the encoder) and of the steps after it."""

    first_step: float | None = None
    later_steps: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        """Record one complete step's wall time (until its loss was read back)."""
        if self.first_step is None:
            self.first_step = seconds
        elif len(self.later_steps) < LATER_STEPS:
            self.later_steps.append(seconds)

    def as_dict(self) -> dict[str, Any]:
        """``compile_seconds``: the first step's time less a later step's (median); ``{}`` before any step."""
        if self.first_step is None:
            return {}
        step = statistics.median(self.later_steps) if self.later_steps else 0.0
        return {"compile_seconds": round(max(self.first_step - step, 0.0), 3),
                "first_step_seconds": round(self.first_step, 3), "step_seconds": round(step, 4),
                "steps_timed": 1 + len(self.later_steps)}


def compile_summary(timing: CompileTiming | None) -> dict[str, Any]:
    """The ``metrics.json`` entry ``compile`` (empty without ``run.compile``), said in the run log too."""
    if timing is None or timing.first_step is None:
        return {}
    summary = timing.as_dict()
    log.info("torch.compile: the first training step took %.1f s, later ones %.3f s: about %.1f s of compiling "
             "(evaluation compiles again for its own mode)", summary["first_step_seconds"], summary["step_seconds"],
             summary["compile_seconds"])
    return {"compile": summary}
