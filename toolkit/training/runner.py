"""One run, top to bottom: load recipe → build components → train → evaluate → write."""

from __future__ import annotations

import logging
import os
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from toolkit.training import checkpoint, distributed, rng
from toolkit.training.optimizers import grouped_optimizer, scheduler_with_warmup

from toolkit.runfolder import rundir
from toolkit.runfolder.claim import claim_run_dir
from toolkit.recipes.build import Components, build_components, check_against_data, make_optimizer
from toolkit.evaluation.calibration import calibrate_run, held_out_split
from toolkit.errors import RunInterrupted, ToolkitError
from toolkit.imagedata.datasets import ImageSet
from toolkit.imagedata.augment import with_augmentation
from toolkit.imagedata.decoding import skipped_summary
from toolkit.imagedata.streaming import planned
from toolkit.components.contracts import EvalContext
from toolkit.evaluation.evaluate import embed_across_ranks, make_context, run_evaluators
from toolkit.training.interrupt import GracefulStop
from toolkit.reporting.plots import loss_curve
from toolkit.recipes.recipe import Recipe, load_recipe
from toolkit.reporting.report import write_figures, write_report
from toolkit.components.registry import Registry
from toolkit.training.tensorboard import TensorBoardLog, tensorboard_log
from toolkit.training.compiling import CompileTiming, compile_summary
from toolkit.training.callbacks import Checkpointing, EvaluatorWatchers, LogEpoch, SavePoint, WallClock
from toolkit.training.epoch import (BatchLoss, EpochCallback, EpochProgress, EpochRecord, StopRequested, Training,
                                    TrainState, run_training)
from toolkit.imagedata.transform import ImageTransform
from toolkit.environment import environment
from toolkit.training.validation import Monitor, choose_final, monitored_series, prepare_monitor, validating

log = logging.getLogger("toolkit")


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]


def run(recipe_path: str | Path, *, overrides: tuple[str, ...] = (), output: str | None = None,
        resume: str | None = None, overwrite: bool = False, progress: bool = True,
        registry: Registry | None = None) -> RunResult:
    """Train and evaluate the recipe at ``recipe_path``; returns the run folder and its metrics.

    Everything that can be checked is checked before the run folder is touched (recipe, components, data
    files, the checkpoint to resume from). A run that fails or is interrupted before its first checkpoint
    leaves no run folder behind; after that, the folder keeps the last complete checkpoint to resume from.

    Started by torchrun with several processes, each process trains its share of every batch
    (:mod:`toolkit.training.distributed`); rank 0 alone reads and writes the run folder and evaluates, and the other
    ranks return a result without metrics.
    """
    recipe = load_recipe(recipe_path, overrides)
    world = distributed.World.from_environment()
    device = pick_device(recipe.run.device, recipe.path, world)
    if recipe.run.threads:
        use_threads(recipe.run.threads)
    torch.manual_seed(recipe.run.seed)
    components = build_components(recipe, registry)
    check_against_data(recipe, components)
    setup = RunSetup(recipe, components, device, world, prepare_monitor(recipe, components, registry, world))
    if not world.is_main:
        with distributed.process_group(world, device):
            return _follow_rank_0(setup)

    target = _run_dir_path(recipe, output, resume)
    saved = (checkpoint.load_for_resume(target, checkpoint.recipe_fingerprint(recipe.data), recipe.path, world.size)
             if resume else None)
    claim = claim_run_dir(target, overwrite=overwrite, resume=resume is not None)  # locked until the run ends
    run_dir = claim.path
    point = SavePoint.of(saved)
    handler = _log_to(run_dir / rundir.LOG_FILE)
    try:
        with distributed.process_group(world, device), GracefulStop() as stop, \
                tensorboard_log(run_dir, recipe.run.tensorboard) as board:
            distributed.from_main(world, (run_dir, saved))  # the other ranks start from the same checkpoint
            return _train_evaluate_write(setup, run_dir, saved=saved, point=point, stop=stop, progress=progress,
                                         board=board)
    except BaseException as exc:
        _close_log(handler)
        interrupted = isinstance(exc, (StopRequested, KeyboardInterrupt))
        if point.epoch is None and resume is None:
            claim.abandon()  # the run it replaced, if any, comes back
        elif claim.started():  # a resume refused before it began leaves the run's status as it was
            claim.checkpointed()
            _write_status(run_dir, "interrupted" if interrupted else "failed", recipe.stem)
            _report_quietly(run_dir)
        again = _resume_command(recipe_path, overrides, run_dir, world)
        if interrupted:
            raise RunInterrupted(_interrupted_message(point, run_dir, again)) from None
        if point.epoch is not None and claim.started():
            log.error("The run stopped; %s. %s", point.describe(run_dir), checkpoint.resume_advice(again))
        raise
    finally:
        _close_log(handler)
        claim.release()


def _interrupted_message(point: SavePoint, run_dir: Path, again: str) -> str:
    if point.epoch is None:
        return f"Interrupted before the first checkpoint, so nothing was kept in {run_dir}. Run the recipe again to start over."
    if point.evaluating:
        return (f"Interrupted during evaluation. Training is complete and saved in {run_dir}; `{again}` evaluates "
                "and writes the results without training again.")
    return f"Interrupted. {point.describe(run_dir)}; continue the run with `{again}`."


def _resume_command(recipe_path: str | Path, overrides: tuple[str, ...], run_dir: Path,
                    world: distributed.World = distributed.World()) -> str:
    sets = "".join(f" --set {shlex.quote(o)}" for o in overrides)
    launch = f"torchrun --nproc_per_node {world.size} -m toolkit run" if world.is_distributed else "toolkit run"
    return f"{launch} {shlex.quote(str(recipe_path))}{sets} --resume {shlex.quote(str(run_dir))}"


@dataclass
class RunSetup:
    """What every process of a run works with: the recipe, its components, the device and the process group."""

    recipe: Recipe
    components: Components
    device: torch.device
    world: distributed.World
    monitor: Monitor | None = None


def _prepare_training(setup: RunSetup, saved: dict[str, Any] | None, run_dir: Path) -> Training:
    recipe, components, device = setup.recipe, setup.components, setup.device
    train_images = with_augmentation(_on_device(components.dataset.split("train"), device), components.augmentation)
    components.encoder.to(device)
    components.loss.to(device)
    if recipe.run.channels_last:
        use_channels_last(components.encoder)
    if recipe.run.compile:
        components.encoder.compile()  # in place: state_dict keys and checkpoints stay those of the plain module
    state = _train_state(recipe, components)
    precision = training_precision(recipe.run.precision, device)
    if precision == "float16":
        state.scaler = torch.amp.GradScaler(device.type)
    forward = BatchLoss(components.encoder, components.loss, recipe.run.joint_forward, precision)
    # streamed images: the workers decode (and augment) each planned batch ahead of its step
    sampler = planned(distributed.shard(components.sampler, setup.world), train_images, setup.world.rank)
    training = Training(state, sampler, train_images, forward, recipe.run, device, setup.world,
                        compile_timing=CompileTiming() if recipe.run.compile else None)
    if saved is not None:
        _restore(training, saved, recipe.path, run_dir)
    # after loading: DistributedDataParallel starts every rank from rank 0's weights
    training.forward = distributed.parallel(training.forward, setup.world)
    return training


def _on_device(images: ImageSet, device: torch.device) -> ImageSet:
    """Images in memory or in the cache copied to ``device`` whole; streamed ones sent there batch by batch."""
    if device.type == "cpu":
        return images
    return type(images)(images.images.to(device, non_blocking=True), images.labels, images.mean, images.std,
                        images.class_names)


def _restore(training: Training, saved: dict[str, Any], recipe_path: Path, run_dir: Path) -> None:
    """Load a checkpoint into ``training`` and continue where it stopped."""
    try:
        training.state.load_state_dict(saved)
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise ToolkitError(
            f"The checkpoint in {run_dir} does not fit the components of {recipe_path} ({str(exc).splitlines()[0]}); "
            "a plugin's code may have changed since it was written. Start a new run in another folder."
        ) from None
    training.start_epoch = int(saved["epoch"]) + 1
    training.partial = EpochProgress(**saved["partial"]) if saved.get("partial") else None


def _follow_rank_0(setup: RunSetup) -> RunResult:
    """A rank other than 0: train its share of every batch in step with rank 0, embed its share of the splits
    for the evaluation, and read or write no file."""
    run_dir, saved = distributed.from_main(setup.world, None)
    training = _prepare_training(setup, saved, run_dir)
    run_training(training, [], progress=False)
    embed_across_ranks(setup.components.dataset, setup.components.encoder, setup.device,
                       setup.recipe.run.eval_batch_size, setup.world)
    return RunResult(run_dir, {})


def _train_evaluate_write(setup: RunSetup, run_dir: Path, *, saved: dict[str, Any] | None, point: SavePoint,
                          stop: GracefulStop, progress: bool, board: TensorBoardLog | None) -> RunResult:
    """Rank 0's run, top to bottom: prepare, train with the epoch callbacks, evaluate, write the results."""
    clock = WallClock.of(saved)
    recipe, components = setup.recipe, setup.components
    transform = ImageTransform.of(components.dataset.split("train"))
    training = _prepare_training(setup, saved, run_dir)
    precision = _announce_precision(recipe.run.precision, setup.device)
    if saved is not None and training.start_epoch > recipe.run.epochs:
        log.info("resuming %s: it has trained all %d epochs of run.epochs = %d, so it evaluates and writes the results "
                 "again (to train further, raise it with --set run.epochs=N)", run_dir, training.start_epoch - 1,
                 recipe.run.epochs)
    elif saved is not None:
        log.info("resuming %s from epoch %d%s", run_dir, training.start_epoch,
                 f" step {training.partial.step}" if training.partial else "")
    _write_run_start(run_dir, recipe, transform)

    checkpoints = Checkpointing(run_dir / rundir.CHECKPOINT_FILE, training.state,
                                checkpoint.recipe_fingerprint(recipe.data), setup.world.size, point, clock)
    callbacks = [*validating(setup.monitor, training.state, components, setup.device, run_dir),
                 LogEpoch(recipe.run.epochs, recipe.run.monitor), checkpoints, *([board] if board else []),
                 EvaluatorWatchers.of(components.evaluators, lambda: _eval_context(setup, run_dir))]
    _train(training, callbacks, checkpoints, stop, progress, recipe.path)
    point.evaluating = True
    selection = choose_final(setup.monitor, training.state, run_dir)  # best.pt's weights when run.final = "best"

    log.info("evaluating with %s", ", ".join(n for n, _ in components.evaluators) or "no evaluators")
    context = _eval_context(setup, run_dir, embed_across_ranks(components.dataset, components.encoder, setup.device,
                                                                 recipe.run.eval_batch_size, setup.world))
    evaluation = run_evaluators(components.evaluators, context)
    held_out = held_out_split(components.dataset.split_names)  # a validation split if there is one, else test
    calibrate_run(context, run_dir, recipe.stem, split=held_out)  # the same/different threshold `toolkit compare` uses
    write_figures(context, run_dir, recipe.stem, query_split=held_out)

    history = training.state.history
    metrics = {
        "recipe": recipe.stem,
        "epochs": [r.as_dict() for r in history],
        "train_seconds": round(sum(r.seconds for r in history), 2),
        "wall_seconds": round(clock.seconds(), 2),  # with the earlier processes' time, when resumed
        "device": str(setup.device),
        "precision": precision,
        "environment": environment(setup.device, precision),
        **selection,
        **evaluation.as_dict(),
        **skipped_summary(components.dataset.skipped),
        **compile_summary(training.compile_timing),
    }
    _write_results(run_dir, recipe.stem, components.encoder, history, metrics, setup.monitor)
    if board:
        board.metrics(evaluation.flat(), history[-1].epoch if history else 0)
    _write_status(run_dir, "finished", recipe.stem)
    write_report(run_dir)
    return RunResult(run_dir, metrics)


def _announce_precision(choice: str, device: torch.device) -> str:
    """The precision the run trains in, logged when chosen for the user or when it is likely slow."""
    precision = training_precision(choice, device)
    if choice == "auto":
        log.info('run.precision = "auto": training in %s on %s', precision, device)
    elif precision == "bfloat16" and device.type == "cpu" and cpu_has_bfloat16() is False:
        log.warning('run.precision = "bfloat16" on a CPU without bfloat16 instructions (AVX-512 BF16 or AMX): '
                    'training is likely slower than with "float32" (or "auto")')
    return precision


def _write_run_start(run_dir: Path, recipe: Recipe, transform: ImageTransform) -> None:
    rundir.write_recipe(run_dir / rundir.RECIPE_FILE, recipe.data)  # on resume too: epochs or evaluators may have changed
    rundir.write_json(run_dir / rundir.TRANSFORM_FILE, transform.as_dict())  # how images given later must be read
    _write_status(run_dir, "running", recipe.stem)


def _eval_context(setup: RunSetup, run_dir: Path, embedded: dict | None = None) -> EvalContext:
    """A fresh evaluation context: embeddings change as training goes on, so each look gets its own cache."""
    return make_context(setup.components.dataset, setup.components.encoder, setup.device, run_dir,
                        setup.recipe.run.seed, setup.recipe.run.eval_batch_size, setup.components.loss, embedded)


def _train(training: Training, callbacks: list[EpochCallback], checkpoints: Checkpointing, stop: GracefulStop,
           progress: bool, recipe_path: Path) -> None:
    """Train all epochs; a stop request saves a mid-epoch checkpoint first, a component's error names the recipe."""
    try:
        with stop.training():
            run_training(training, callbacks, progress=progress, stop_requested=stop)
    except ToolkitError as exc:  # raised by a component mid-training: say which recipe it was
        error = ToolkitError(f"{recipe_path}, while training: {exc}")
        error.exit_code = exc.exit_code
        raise error from None
    except StopRequested as stopped:
        checkpoints.on_stop(stopped.progress)
        raise


def _write_results(run_dir: Path, title: str, encoder: nn.Module, history: list[EpochRecord],
                   metrics: dict[str, Any], monitor: Monitor | None) -> None:
    rundir.write_json(run_dir / rundir.METRICS_FILE, metrics)
    checkpoint.save(run_dir / rundir.ENCODER_FILE, {"encoder": encoder.state_dict()})
    loss_curve([r.epoch for r in history], [r.loss for r in history], run_dir / rundir.LOSS_PLOT, title,
               second=monitored_series(history, monitor))


def _train_state(recipe: Recipe, components: Components) -> TrainState:
    loss = components.loss
    with_model = list(loss.model_parameters())
    ids = {id(p) for p in with_model}
    own = [p for p in loss.parameters() if id(p) not in ids]
    separate = recipe.loss_optimizer is not None and own
    main = grouped_optimizer(recipe, components.encoder, with_model if separate else with_model + own)
    optimizers = [main, make_optimizer(recipe.loss_optimizer, own, str(recipe.path))] if separate else [main]
    scheduler = scheduler_with_warmup(recipe, main)
    return TrainState(components.encoder, loss, optimizers, [scheduler] if scheduler is not None else [])


def use_channels_last(encoder: nn.Module) -> None:
    """Keep ``encoder``'s 4-D weights, and every 4-D tensor it is called with, in channels-last memory order."""
    encoder.to(memory_format=torch.channels_last)
    encoder.register_forward_pre_hook(_channels_last_inputs)


def _channels_last_inputs(module: nn.Module, args: tuple) -> tuple:
    return tuple(a.contiguous(memory_format=torch.channels_last) if isinstance(a, torch.Tensor) and a.dim() == 4 else a
                 for a in args)


def training_precision(choice: str, device: torch.device) -> str:
    """The precision a run trains in: ``run.precision``, with ``auto`` resolved for ``device``."""
    if choice != "auto":
        return choice
    return "bfloat16" if has_native_bfloat16(device) else "float32"


def has_native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CPU with AVX-512 BF16 or AMX, a GPU that supports it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bfloat16() is True


def cpu_has_bfloat16() -> bool | None:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX), as oneDNN sees it; None when torch
    cannot tell."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return None


def use_threads(count: int) -> None:
    """At most ``count`` CPU threads for torch and for faiss (which searches and clusters with its own OpenMP pool)."""
    import faiss

    torch.set_num_threads(count)
    faiss.omp_set_num_threads(count)


def pick_device(choice: str, recipe_path: Path, world: distributed.World = distributed.World()) -> torch.device:
    """The run's device; in a distributed run on GPUs, the GPU of this process's ``LOCAL_RANK``."""
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ToolkitError(f"{recipe_path}: run.device = \"cuda\" but this machine has no usable CUDA GPU. Use \"auto\" or \"cpu\".")
    if not world.is_distributed:
        return torch.device("cuda")
    if world.local_rank >= torch.cuda.device_count():
        raise ToolkitError(
            f"{recipe_path}: this is process LOCAL_RANK={world.local_rank} of a distributed run, on a machine with "
            f"{torch.cuda.device_count()} GPU(s). Start at most one process per GPU (torchrun --nproc_per_node), or set "
            "run.device = \"cpu\" to train on the CPU."
        )
    return torch.device("cuda", world.local_rank)


def _run_dir_path(recipe: Recipe, output: str | None, resume: str | None) -> Path:
    if resume:
        return Path(resume)
    chosen = output or recipe.run.output
    return Path(chosen) if chosen else rundir.default_run_dir(recipe.stem)


def _write_status(run_dir: Path, status: str, recipe: str) -> None:
    try:
        rundir.write_json(run_dir / rundir.STATUS_FILE,
                          {"status": status, "recipe": recipe, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "pid": os.getpid(), "host": socket.gethostname()})
    except OSError:
        pass


def _report_quietly(run_dir: Path) -> None:
    """A kept run folder of a stopped run gets its report too; a problem with it must not hide why the run stopped."""
    try:
        write_report(run_dir)
    except Exception:  # noqa: BLE001
        log.warning("could not write %s", run_dir / rundir.REPORT_FILE, exc_info=True)


def _close_log(handler: logging.Handler) -> None:
    logging.getLogger("toolkit").removeHandler(handler)
    handler.close()


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("toolkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
