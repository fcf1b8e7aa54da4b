"""Choosing on the validation split: the monitored metric after every N epochs, ``best.pt``, early stopping.

The monitored evaluator is the recipe's own, built a second time with its split parameters pointed at the validation
split: ``split`` and ``query`` become ``validation``, and ``gallery`` becomes ``query`` (for retrieval: the validation
images searched among themselves, each query left out). The best value, its epoch and the validations since then are
read from the epoch history, which every checkpoint holds, so a resumed run continues with all three.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch

from toolkit.components.contracts import Evaluator
from toolkit.components.params import parameters
from toolkit.components.registry import Registry, default_registry
from toolkit.errors import ToolkitError
from toolkit.evaluation.evaluate import evaluator_keys, make_context
from toolkit.evaluation.results import checked_metrics
from toolkit.imagedata.datasets import Dataset, ImageSet
from toolkit.imagedata.holdout import VALIDATION
from toolkit.recipes.build import Components, build_evaluator
from toolkit.recipes.recipe import ComponentSpec, Recipe, RunSettings
from toolkit.runfolder import rundir
from toolkit.training import checkpoint, rng
from toolkit.training.distributed import World
from toolkit.training.epoch import EpochRecord, TrainState

log = logging.getLogger("toolkit")

LOWER_IS_BETTER = ("loss", "error", "eer", "distance")
"""Words in a metric's name that make a lower value the better one."""


@dataclass
class Monitor:
    """The metric a run is chosen by (``key.metric``), whether higher or lower is better, and the evaluator that
    measures it on the validation split."""

    key: str
    metric: str
    mode: str
    evaluator: Evaluator
    settings: RunSettings

    @property
    def name(self) -> str:
        return f"{self.key}.{self.metric}"

    def better(self, value: float, than: float | None) -> bool:
        return than is None or (value > than if self.mode == "max" else value < than)


@dataclass
class Standing:
    """The best validation so far: its value and epoch, and how many validations came after it."""

    value: float | None = None
    epoch: int | None = None
    since: int = 0


def standing(history: list[EpochRecord], monitor: Monitor) -> Standing:
    """The best monitored value in ``history`` (the first epoch that reached it), and the validations since."""
    best = Standing()
    for record in history:
        if not record.validation or monitor.name not in record.validation:
            continue
        value = record.validation[monitor.name]
        if monitor.better(value, best.value):
            best = Standing(value, record.epoch, 0)
        else:
            best.since += 1
    return best


CHECK_IMAGES = 200
"""How many validation images ``toolkit validate`` measures the untrained encoder on: enough for every metric to
appear, few enough to answer at once."""


def prepare_monitor(recipe: Recipe, components: Components, registry: Registry | None = None,
                    world: World = World(), check_only: bool = False) -> Monitor | None:
    """The run's :class:`Monitor` (None without ``run.monitor``), checked before training: the validation split
    exists, the evaluator exists, and one measurement of the untrained encoder gives the metric (``check_only``: on
    :data:`CHECK_IMAGES` validation images spread over the split, as ``toolkit validate`` needs no value)."""
    settings, where = recipe.run, str(recipe.path)
    if settings.monitor is None:
        return None
    if VALIDATION not in components.dataset.split_names:
        raise ToolkitError(
            f"{where}: run.monitor = {settings.monitor!r} is measured on a validation split, but the dataset "
            f"{recipe.dataset.name!r} has none (its splits: {', '.join(components.dataset.split_names)}). Hold out a "
            "share of the training images with validation = 0.1 under [dataset]."
        )
    if settings.patience is not None and world.is_distributed:
        raise ToolkitError(f"{where}: run.patience (early stopping) is not available in a run of several processes "
                           "(torchrun); remove run.patience, or train in one process.")
    key, metric, spec = _monitored_spec(recipe)
    evaluator = _on_validation(spec, registry or default_registry(), where)
    mode = settings.monitor_mode or ("min" if any(w in metric.split("_") for w in LOWER_IS_BETTER) else "max")
    monitor = Monitor(key, metric, mode, evaluator, settings)
    measured = replace(components, dataset=_spread_sample(components.dataset)) if check_only else components
    found = measure(monitor, measured, torch.device("cpu"))
    if metric not in found:
        produced = ", ".join(f"{key}.{m}" for m in found) or "no metrics"
        raise ToolkitError(
            f"{where}: run.monitor = {settings.monitor!r}, but the evaluator {key!r} produces {produced}. Set "
            "run.monitor to one of them."
        )
    if not check_only:
        log.info("validation %s before training: %.4f (%s is better)", monitor.name, found[metric],
                 "higher" if mode == "max" else "lower")
    return monitor


def _spread_sample(dataset: Dataset) -> Dataset:
    """The dataset with its validation split cut to :data:`CHECK_IMAGES` images evenly spread over it (so a split
    sorted by class keeps every class), decoded and normalised once."""
    validation = dataset.split(VALIDATION)
    picked = torch.linspace(0, len(validation) - 1, min(CHECK_IMAGES, len(validation))).long()
    sample = ImageSet(validation.batch(picked), validation.labels[picked], class_names=validation.class_names)
    return replace(dataset, loaders={**dataset.loaders, VALIDATION: lambda: sample}, _loaded={})


def _monitored_spec(recipe: Recipe) -> tuple[str, str, ComponentSpec]:
    """The evaluator key and metric of ``run.monitor``, and that evaluator's recipe entry."""
    keys = evaluator_keys([spec.name for spec in recipe.evaluators])
    key, _, metric = str(recipe.run.monitor).partition(".")
    if not metric or key not in keys:
        known = ", ".join(keys) or "none: the recipe has no [[evaluators]]"
        raise ToolkitError(
            f"{recipe.path}: run.monitor = {recipe.run.monitor!r} must be written evaluator.metric (such as "
            f"\"knn.precision_at_1\"), naming one of the recipe's evaluators ({known})."
        )
    return key, metric, recipe.evaluators[keys.index(key)]


def _on_validation(spec: ComponentSpec, registry: Registry, where: str) -> Evaluator:
    """The evaluator of ``spec`` built again to read the validation split (its own gallery, for retrieval)."""
    accepted = {p.name for p in parameters(registry.get("evaluators", spec.name).factory)}
    if not accepted & {"split", "query"}:
        raise ToolkitError(
            f"{where}: run.monitor names the evaluator {spec.name!r}, which takes no split or query parameter, so it "
            "cannot be measured on the validation split. Monitor another evaluator's metric."
        )
    pointed = {"split": VALIDATION, "query": VALIDATION, "gallery": "query"}
    params = {**spec.params, **{k: v for k, v in pointed.items() if k in accepted}}
    return build_evaluator(ComponentSpec(spec.section, spec.name, params), registry, where)


def measure(monitor: Monitor, components: Components, device: torch.device) -> dict[str, float]:
    """The monitored evaluator's metrics on the validation split for the encoder (and the loss, whose classifier
    head an evaluator may use) as they are now. What it writes goes to a scratch folder, and the random number
    generators are restored, so training draws what it would have."""
    settings, before = monitor.settings, rng.get_state()
    try:
        with tempfile.TemporaryDirectory(prefix="toolkit-validation-") as scratch:
            context = make_context(components.dataset, components.encoder, device, Path(scratch), settings.seed,
                                   settings.eval_batch_size, loss=components.loss)
            return checked_metrics(monitor.key, monitor.evaluator, monitor.evaluator.evaluate(context))
    finally:
        rng.set_state(before)


@dataclass
class Validating:
    """An epoch callback: measures the monitored metric every ``validate_every`` epochs (and after the last),
    records it in the epoch's history entry, keeps the best weights in ``best.pt`` and asks training to stop once
    ``patience`` validations in a row brought nothing better."""

    monitor: Monitor
    state: TrainState
    measure: Callable[[], dict[str, float]]
    best_path: Path

    @property
    def stop_training(self) -> bool:
        patience = self.monitor.settings.patience
        return patience is not None and standing(self.state.history, self.monitor).since >= patience

    def on_epoch_end(self, record: EpochRecord) -> None:
        settings = self.monitor.settings
        if record.epoch % settings.validate_every and record.epoch != settings.epochs:
            return
        record.validation = {f"{self.monitor.key}.{m}": v for m, v in self.measure().items()}
        best = standing(self.state.history, self.monitor)
        if best.epoch == record.epoch:
            checkpoint.save(self.best_path, {"encoder": self.state.encoder.state_dict(),
                                             "loss": self.state.loss.state_dict(), "epoch": record.epoch,
                                             "monitor": self.monitor.name, "value": best.value})
        if self.stop_training:
            log.info("early stop after epoch %d: %s has not improved on %.4f (epoch %d) for %d validations",
                     record.epoch, self.monitor.name, best.value, best.epoch, best.since)


def validating(monitor: Monitor | None, state: TrainState, components: Components, device: torch.device,
               run_dir: Path) -> list[Validating]:
    """The run's validation callback, or none without a monitor; also records how the split was made."""
    if monitor is None:
        return []
    write_holdout(components.dataset, run_dir)

    def measure_now() -> dict[str, float]:
        return measure(monitor, components, device)

    return [Validating(monitor, state, measure_now, run_dir / rundir.BEST_FILE)]


def write_holdout(dataset: Dataset, run_dir: Path) -> None:
    """``validation_split.json``: the share, seed and training indices held out, or that the dataset has its own."""
    record = dataset.holdout or {"source": f"the dataset's own {VALIDATION!r} split"}
    rundir.write_json(run_dir / rundir.VALIDATION_SPLIT_FILE, record)


def choose_final(monitor: Monitor | None, state: TrainState, run_dir: Path) -> dict[str, Any]:
    """Load the best weights when ``run.final = "best"``; what ``metrics.json`` says about the choice."""
    if monitor is None:
        return {}
    best = standing(state.history, monitor)
    final = monitor.settings.final
    if final == "best":
        saved = checkpoint.load(run_dir / rundir.BEST_FILE)
        state.encoder.load_state_dict(saved["encoder"])
        if "loss" in saved:  # the loss's classifier head and centers, as they were at the best epoch
            state.loss.load_state_dict(saved["loss"])
        log.info("final weights: best.pt from epoch %d (%s %.4f)", best.epoch, monitor.name, best.value)
    stopped = len(state.history) < monitor.settings.epochs
    return {"validation": {"monitor": monitor.name, "mode": monitor.mode, "best_epoch": best.epoch,
                           "best_value": best.value, "final": final,
                           "stopped_early_after": state.history[-1].epoch if stopped and state.history else None}}


def monitored_series(history: list[EpochRecord], monitor: Monitor | None) -> tuple[str, list[int], list[float]] | None:
    """The monitored metric per validated epoch, for the loss-curve plot."""
    if monitor is None:
        return None
    points = [(r.epoch, r.validation[monitor.name]) for r in history if r.validation and monitor.name in r.validation]
    return f"validation {monitor.name}", [e for e, _ in points], [v for _, v in points]
