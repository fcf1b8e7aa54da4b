"""What the evaluators found: numbers per evaluator and the files they announced, checked once and read back once.

``metrics.json`` holds both side by side: ``"evaluation": {"knn": {"precision_at_1": 0.98}}`` and
``"artifacts": {"embedding_plot": {"plot": "embeddings_test.png"}}`` (paths relative to the run folder).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.runfolder import rundir

EVALUATION_KEY = "evaluation"
ARTIFACTS_KEY = "artifacts"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Evaluation:
    """Each evaluator's metrics and artifacts under its name in the recipe (``knn``, ``kmeans``, ...)."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    artifacts: dict[str, dict[str, str]] = field(default_factory=dict)

    def flat(self) -> dict[str, float]:
        """Every metric as ``evaluator.metric`` -> value, in the evaluators' order."""
        return {f"{name}.{key}": value for name, values in self.metrics.items() for key, value in values.items()}

    def flat_artifacts(self) -> dict[str, str]:
        """Every artifact as ``evaluator.name`` -> path relative to the run folder."""
        return {f"{name}.{key}": path for name, files in self.artifacts.items() for key, path in files.items()}

    def as_dict(self) -> dict[str, Any]:
        return {EVALUATION_KEY: self.metrics, ARTIFACTS_KEY: self.artifacts}

    @classmethod
    def from_metrics(cls, data: Any) -> Evaluation:
        """The evaluation in a parsed ``metrics.json``; what is not a number or a path (an older or damaged file) is
        left out."""
        data = data if isinstance(data, dict) else {}
        return cls(_nested(data.get(EVALUATION_KEY), is_number, float), _nested(data.get(ARTIFACTS_KEY), _is_path, str))


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _nested(data: Any, keep: Any, convert: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict):
        return {}
    return {str(name): {str(k): convert(v) for k, v in values.items() if keep(v)}
            for name, values in data.items() if isinstance(values, dict)}


def read_evaluation(run_dir: Path) -> Evaluation:
    """The metrics and artifacts in ``run_dir``'s ``metrics.json``; empty when it is missing or unreadable."""
    return Evaluation.from_metrics(rundir.read_json(run_dir / rundir.METRICS_FILE))


def checked_metrics(name: str, evaluator: object, values: Any) -> dict[str, float]:
    """``values`` as metric name -> float; anything else is reported as a bug of the evaluator's plugin."""
    if not isinstance(values, dict):
        raise ToolkitError(f"{_origin(name, evaluator)} returned {type(values).__name__}, not a dict of metric name "
                           f"to number. {_FIX}")
    for key, value in values.items():
        if not isinstance(key, str) or not is_number(value):
            shown = repr(value) if len(repr(value)) < 60 else f"a {type(value).__name__}"
            raise ToolkitError(f"{_origin(name, evaluator)} returned the metric {key!r} = {shown}; an evaluator returns "
                               f"numbers only. {_FIX}")
    return {key: float(value) for key, value in values.items()}


_FIX = ("A file it writes goes into context.out_dir and is announced with context.add_artifact(name, path). This is a "
        "bug in that plugin: report it to its authors, or leave the evaluator out of the recipe.")


def _origin(name: str, evaluator: object) -> str:
    cls = type(evaluator)
    try:
        where = f"{inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]}"
    except (OSError, TypeError):
        where = cls.__module__
    return f"The evaluator {name!r} ({cls.__module__}.{cls.__qualname__}, {where})"
