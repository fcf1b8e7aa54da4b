"""One run, top to bottom: load recipe → build components → train → evaluate → write."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from toolkit import checkpoint, rundir
from toolkit.build import Components, build_components, make_optimizer, make_scheduler
from toolkit.errors import ToolkitError
from toolkit.evaluation import make_context, run_evaluators
from toolkit.plots import loss_curve
from toolkit.recipe import Recipe, load_recipe
from toolkit.registry import Registry
from toolkit.training import EpochRecord, TrainState, run_training

log = logging.getLogger("toolkit")


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]


def run(recipe_path: str | Path, *, overrides: tuple[str, ...] = (), output: str | None = None,
        resume: str | None = None, overwrite: bool = False, progress: bool = True,
        registry: Registry | None = None) -> RunResult:
    """Train and evaluate the recipe at ``recipe_path``; returns the run folder and its metrics."""
    recipe = load_recipe(recipe_path, overrides)
    device = pick_device(recipe.run.device, recipe.path)
    if recipe.run.threads:
        torch.set_num_threads(recipe.run.threads)
    torch.manual_seed(recipe.run.seed)
    components = build_components(recipe, registry)

    run_dir = rundir.prepare_run_dir(_run_dir_path(recipe, output, resume), overwrite=overwrite, resume=resume is not None)
    handler = _log_to(run_dir / rundir.LOG_FILE)
    try:
        return _train_evaluate_write(recipe, components, run_dir, device, resumed=resume is not None, progress=progress)
    except KeyboardInterrupt:
        _write_status(run_dir, "interrupted")
        raise ToolkitError(
            f"Interrupted. The last complete epoch is saved in {run_dir}; continue with "
            f"`toolkit run {recipe.path} --resume {run_dir}`."
        ) from None
    except BaseException:
        _write_status(run_dir, "failed")
        raise
    finally:
        logging.getLogger("toolkit").removeHandler(handler)
        handler.close()


def _train_evaluate_write(recipe: Recipe, components: Components, run_dir: Path, device: torch.device,
                          *, resumed: bool, progress: bool) -> RunResult:
    started = time.perf_counter()
    train_images = components.dataset.split("train")
    if device.type != "cpu":
        train_images = type(train_images)(train_images.images.to(device), train_images.labels, train_images.mean,
                                          train_images.std, train_images.class_names)
    components.encoder.to(device)
    components.loss.to(device)
    state = _train_state(recipe, components)
    fingerprint = checkpoint.recipe_fingerprint(recipe.data)
    start_epoch = 1
    if resumed:
        saved = checkpoint.load(run_dir / rundir.CHECKPOINT_FILE)
        if saved.get("recipe_fingerprint") != fingerprint:
            raise ToolkitError(
                f"The checkpoint in {run_dir} was written by a different recipe than {recipe.path} "
                "(only run.epochs may change when resuming). Resume with the recipe that started the run."
            )
        state.load_state_dict(saved)
        start_epoch = int(saved["epoch"]) + 1
        log.info("resuming %s from epoch %d", run_dir, start_epoch)
    else:
        rundir.write_recipe(run_dir / rundir.RECIPE_FILE, recipe.data)
    _write_status(run_dir, "running")

    def new_context():  # embeddings change as training goes on: each look gets a fresh cache
        return make_context(components.dataset, components.encoder, device, run_dir, recipe.run.seed,
                            recipe.run.eval_batch_size, components.loss)

    watchers = [e for _, e in components.evaluators if callable(getattr(e, "on_epoch_end", None))]

    def end_of_epoch(record: EpochRecord) -> None:
        log.info("epoch %d/%d  loss %.5f  %.1fs  %.0f images/s  lr %.3g%s", record.epoch, recipe.run.epochs, record.loss,
                 record.seconds, record.images_per_second, record.lr,
                 f"  skipped {record.bad_steps} non-finite steps" if record.bad_steps else "")
        checkpoint.save(run_dir / rundir.CHECKPOINT_FILE,
                        {**state.state_dict(), "epoch": record.epoch, "recipe_fingerprint": fingerprint})
        if watchers:
            context = new_context()
            for watcher in watchers:
                watcher.on_epoch_end(context, record.epoch)

    run_training(state, components.sampler, train_images, start_epoch=start_epoch, epochs=recipe.run.epochs,
                 seed=recipe.run.seed, device=device, joint_forward=recipe.run.joint_forward,
                 max_bad_steps=recipe.run.max_bad_steps, on_epoch_end=end_of_epoch, progress=progress)
    train_seconds = sum(r.seconds for r in state.history)

    log.info("evaluating with %s", ", ".join(n for n, _ in components.evaluators) or "no evaluators")
    evaluation = run_evaluators(components.evaluators, new_context())

    metrics = {
        "recipe": recipe.stem,
        "epochs": [r.as_dict() for r in state.history],
        "train_seconds": round(train_seconds, 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "device": str(device),
        "evaluation": evaluation,
    }
    rundir.write_json(run_dir / rundir.METRICS_FILE, metrics)
    checkpoint.save(run_dir / rundir.ENCODER_FILE, {"encoder": components.encoder.state_dict()})
    loss_curve([r.epoch for r in state.history], [r.loss for r in state.history], run_dir / "loss_curve.png", recipe.stem)
    _write_status(run_dir, "finished")
    log.info("run folder: %s", run_dir)
    return RunResult(run_dir, metrics)


def _train_state(recipe: Recipe, components: Components) -> TrainState:
    where = str(recipe.path)
    loss = components.loss
    with_model = list(loss.model_parameters()) if hasattr(loss, "model_parameters") else []
    ids = {id(p) for p in with_model}
    own = [p for p in loss.parameters() if id(p) not in ids]
    main_params = list(components.encoder.parameters()) + with_model
    optimizers, schedulers = [], []
    if recipe.loss_optimizer is not None and own:
        main = make_optimizer(recipe.optimizer, main_params, where)
        optimizers = [main, make_optimizer(recipe.loss_optimizer, own, where)]
    else:
        main = make_optimizer(recipe.optimizer, main_params + own, where)
        optimizers = [main]
    if recipe.scheduler is not None:
        schedulers.append(make_scheduler(recipe.scheduler, main, where))
    return TrainState(components.encoder, loss, optimizers, schedulers)


def pick_device(choice: str, recipe_path: Path) -> torch.device:
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ToolkitError(f"{recipe_path}: run.device = \"cuda\" but this machine has no usable CUDA GPU. Use \"auto\" or \"cpu\".")
    return torch.device("cuda")


def _run_dir_path(recipe: Recipe, output: str | None, resume: str | None) -> Path:
    if resume:
        return Path(resume)
    chosen = output or recipe.run.output
    return Path(chosen) if chosen else rundir.default_run_dir(recipe.stem)


def _write_status(run_dir: Path, status: str) -> None:
    try:
        rundir.write_json(run_dir / rundir.STATUS_FILE, {"status": status, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    except OSError:
        pass


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("toolkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
