"""Building a recipe's components: every name resolved through the registry, every key checked first."""

from __future__ import annotations

import inspect
import sys
import traceback
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from toolkit.components.contracts import Evaluator, Loss, Miner, Sampler
from toolkit.imagedata.augment import Augmentation, normalize_is_no_step
from toolkit.imagedata.datasets import Dataset
from toolkit.imagedata.normalization import Preprocessing, use_preprocessing
from toolkit.imagedata.holdout import VALIDATION, check_validation_pairs, hold_out_validation
from toolkit.errors import ToolkitError, did_you_mean
from toolkit.components.params import check_parameters, parameters
from toolkit.recipes.recipe import ComponentSpec, Recipe
from toolkit.components.registry import Registry, default_registry
from toolkit.training.tensorboard import require as require_tensorboard


@dataclass
class Components:
    """Everything a run needs, built and checked."""

    dataset: Dataset
    sampler: Sampler
    encoder: nn.Module
    loss: Loss
    evaluators: list[tuple[str, Evaluator]] = field(default_factory=list)
    augmentation: Augmentation | None = None


def build_components(recipe: Recipe, registry: Registry | None = None) -> Components:
    """Check every component section against its factory, then build it."""
    registry = registry or default_registry()
    where = str(recipe.path)
    dataset = build_dataset(recipe, registry)

    sampler = _build(registry, "samplers", recipe.sampler, where)
    if not isinstance(sampler, Sampler) or sampler.kind not in ("pairs", "triplets", "labels"):
        raise _wrong_kind(registry, "samplers", recipe.sampler, sampler, "a toolkit.api.Sampler (kind, batch_size, epoch())")

    encoder = build_encoder(recipe, registry)
    preprocessing = getattr(encoder, "preprocessing", None)
    use_preprocessing(dataset, preprocessing if isinstance(preprocessing, Preprocessing) else None)

    extra: dict[str, Any] = {}
    if recipe.miner is not None:
        loss_factory = registry.get("losses", recipe.loss.name, where=f"{where}: loss.name").factory
        if "miner" not in {p.name for p in parameters(loss_factory)}:
            raise ToolkitError(
                f"{where}: the recipe has a [miner] section but the loss {recipe.loss.name!r} takes no miner. "
                "Remove [miner], or choose a loss that mines inside its batch (for example a pml.* loss)."
            )
        miner = _build(registry, "miners", recipe.miner, where)
        if not isinstance(miner, Miner):
            raise _wrong_kind(registry, "miners", recipe.miner, miner, "a toolkit.api.Miner (callable as miner(embeddings, labels))")
        extra["miner"] = miner
    loss = _build(registry, "losses", recipe.loss, where, extra=extra)
    if not isinstance(loss, Loss) or loss.batch_kind not in ("pairs", "triplets", "labels"):
        raise _wrong_kind(registry, "losses", recipe.loss, loss, "a toolkit.api.Loss (a subclass with batch_kind set)")
    if loss.batch_kind != sampler.kind:
        raise ToolkitError(
            f"{where}: the loss {recipe.loss.name!r} needs {loss.batch_kind} batches but the sampler "
            f"{recipe.sampler.name!r} makes {sampler.kind} batches. Pick a sampler that makes {loss.batch_kind} "
            f"(`toolkit list samplers`)."
        )

    evaluators = [(spec.name, build_evaluator(spec, registry, where)) for spec in recipe.evaluators]

    _check_optimizers(recipe, loss, where)
    if recipe.run.tensorboard:
        require_tensorboard(where)
    return Components(dataset, sampler, encoder, loss, evaluators, _augmentation(recipe, registry, where))


def _augmentation(recipe: Recipe, registry: Registry, where: str) -> Augmentation:
    """The ``[[augment]]`` steps, built; ``Normalize`` gets an answer that says where normalisation is written."""
    for spec in recipe.augment:
        if spec.name == "Normalize" and "Normalize" not in registry.names("augmentations"):
            dataset = registry.get("datasets", recipe.dataset.name).factory
            takes_mean = "mean" in {p.name for p in parameters(dataset)}
            raise normalize_is_no_step(spec.section, spec.params, where, recipe.dataset.name if takes_mean else None)
    return Augmentation([(spec.name, _build(registry, "augmentations", spec, where)) for spec in recipe.augment])


def build_evaluator(spec: ComponentSpec, registry: Registry, where: str) -> Evaluator:
    """One ``[[evaluators]]`` entry, built and checked to be an :class:`Evaluator`."""
    evaluator = _build(registry, "evaluators", spec, where)
    if not isinstance(evaluator, Evaluator):
        raise _wrong_kind(registry, "evaluators", spec, evaluator, "a toolkit.api.Evaluator (a subclass of it)")
    return evaluator


def build_dataset(recipe: Recipe, registry: Registry | None = None) -> Dataset:
    """The recipe's dataset (splits load lazily), with ``dataset.limit`` and ``dataset.validation`` applied."""
    registry = registry or default_registry()
    dataset = _build(registry, "datasets", recipe.dataset, str(recipe.path))
    if not isinstance(dataset, Dataset):
        raise _wrong_kind(registry, "datasets", recipe.dataset, dataset, "a toolkit.imagedata.datasets.Dataset")
    dataset.limit = recipe.dataset_limit
    hold_out_validation(dataset, recipe.dataset_validation, str(recipe.path))
    return dataset


def build_encoder(recipe: Recipe, registry: Registry | None = None) -> nn.Module:
    """The recipe's encoder, freshly initialised."""
    registry = registry or default_registry()
    encoder = _build(registry, "encoders", recipe.encoder, str(recipe.path))
    if not isinstance(encoder, nn.Module):
        raise _wrong_kind(registry, "encoders", recipe.encoder, encoder, "a torch.nn.Module")
    return encoder


def _check_optimizers(recipe: Recipe, loss: Loss, where: str) -> None:
    """Build the optimizers and the scheduler once on a stand-in parameter, so bad values (a negative lr) show now."""
    main = _stand_in_optimizer(recipe.optimizer, where)
    for name, options in recipe.optimizer_groups.items():  # torch checks values only among the defaults
        group = ComponentSpec(f"optimizer.groups.{name}", recipe.optimizer.name, {**recipe.optimizer.params, **options})
        _stand_in_optimizer(group, where)
    if recipe.loss_optimizer is not None:
        with_model = {id(p) for p in loss.model_parameters()}
        if not any(id(p) not in with_model for p in loss.parameters()):
            raise ToolkitError(
                f"{where}: [loss.optimizer] is given, but the loss {recipe.loss.name!r} has no parameters of its own to "
                "train (such as class centers or proxies). Remove [loss.optimizer]; [optimizer] trains the encoder."
            )
        _stand_in_optimizer(recipe.loss_optimizer, where)
    if recipe.scheduler is not None:
        make_scheduler(recipe.scheduler, main, where)


def check_against_data(recipe: Recipe, components: Components) -> None:
    """The checks that need the data: every split reads through, and the encoder takes the training images."""
    for split in components.dataset.split_names:  # a truncated or mismatched file stops the run before any work
        components.dataset.split(split)
    if VALIDATION in components.dataset.split_names:
        check_validation_pairs(components.dataset.split(VALIDATION), str(recipe.path))
    for index, (name, evaluator) in enumerate(components.evaluators):
        for split in evaluator.splits:
            if split not in components.dataset.split_names:
                raise ToolkitError(
                    f"{recipe.path}: [[evaluators]] {index} ({name!r}) reads the split {split!r}, but the dataset "
                    f"{recipe.dataset.name!r} has the splits {', '.join(components.dataset.split_names)}. Set that "
                    "evaluator's split (or query / gallery) to one of them."
                )
    images = components.dataset.split("train")
    encoder = components.encoder
    was_training = encoder.training
    encoder.eval()  # no BatchNorm statistics change, no dropout draws
    try:
        with torch.no_grad():
            output = encoder(images.batch(torch.arange(min(2, len(images)))))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ToolkitError(
            f"{recipe.path}: the encoder {recipe.encoder.name!r} cannot take the training images of "
            f"{recipe.dataset.name!r}, shaped {tuple(images.shape)} (channels, height, width): "
            f"{str(exc).splitlines()[0]}. Change the [encoder] parameters (such as in_features, in_channels or "
            "image_size) to fit these images; `toolkit list encoders` shows them."
        ) from None
    finally:
        encoder.train(was_training)
    if components.augmentation is not None and len(images):
        components.augmentation.check(images.images[0], str(recipe.path))
    if not isinstance(output, torch.Tensor) or output.ndim != 2:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ToolkitError(
            f"{recipe.path}: the encoder {recipe.encoder.name!r} returned {shape} for a batch of 2 images; an encoder "
            "must return embeddings shaped (batch, embedding_dim)."
        )


def _build(registry: Registry, kind: str, spec: ComponentSpec, where: str, extra: dict[str, Any] | None = None) -> Any:
    component = registry.get(kind, spec.name, where=f"{where}: {spec.section}.name")
    params = _tuples_for_tuple_parameters(component.factory, spec.params)
    problems = check_parameters(component.factory, params, exclude=tuple(extra or ()))
    if problems:
        raise ToolkitError(_problems_message(where, spec, problems))
    try:
        return component.factory(**params, **(extra or {}))
    except ToolkitError:
        raise
    except TypeError as exc:
        if _fits_signature(component.factory, {**params, **(extra or {})}):
            raise _plugin_bug(component, spec, exc) from exc
        raise _rejected(where, spec, kind, exc) from None
    except ValueError as exc:
        raise _rejected(where, spec, kind, exc) from None


def _rejected(where: str, spec: ComponentSpec, kind: str, exc: Exception) -> ToolkitError:
    return ToolkitError(
        f"{where}: [{spec.section}] {spec.name!r} rejected its parameters: {str(exc).rstrip('.')}. Change the value "
        f"under [{spec.section}]; `toolkit list {kind}` documents every parameter."
    )


def _fits_signature(factory: Callable[..., Any], arguments: dict[str, Any]) -> bool:
    """Whether ``arguments`` bind to ``factory``'s parameters: if so, a TypeError came from inside the factory."""
    try:
        inspect.signature(factory).bind(**arguments)
    except TypeError:
        return False
    except ValueError:  # no signature to read: cannot tell, so blame the recipe as before
        return False
    return True


def _plugin_bug(component: Any, spec: ComponentSpec, exc: BaseException) -> ToolkitError:
    """A plugin's own mistake, pointed at the plugin's line that raised it (or called what raised it)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # the first frame is the call above
    home = _source_folder(component.factory)
    own = [f for f in frames if home is not None and Path(f.filename).resolve().is_relative_to(home)]
    frame = (own or frames or [None])[-1]
    plugin = component.plugin
    at = f" at {frame.filename}:{frame.lineno}" if frame else ""
    return ToolkitError(
        f"[{spec.section}] {spec.name!r}: the plugin {plugin!r} raised {type(exc).__name__}: {exc}{at}, although the "
        f"recipe's parameters fit its signature. This is a bug in that plugin: report it to its authors, and meanwhile "
        f"choose another {spec.section} or leave the plugin out with TOOLKIT_LOAD_PLUGINS."
    )


def _source_folder(factory: Callable[..., Any]) -> Path | None:
    """The folder of the top-level package that defines ``factory`` (the file itself for a lone module)."""
    top = sys.modules.get(str(getattr(factory, "__module__", "")).split(".")[0])
    file = getattr(top, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    return path.parent if path.name == "__init__.py" else path


def _problems_message(where: str, spec: ComponentSpec, problems: list[Any]) -> str:
    details = " ".join(f"{spec.section}.{p.key}: {p.message}" for p in problems)
    return f"{where}: [{spec.section}] {spec.name!r} has bad parameters. {details} `toolkit list` shows every parameter with its type and default."


def _wrong_kind(registry: Registry, kind: str, spec: ComponentSpec, obj: Any, expected: str) -> ToolkitError:
    plugin = registry.get(kind, spec.name).plugin
    return ToolkitError(
        f"[{spec.section}] {spec.name!r}: the factory of plugin {plugin!r} returned {type(obj).__name__}, not {expected}. "
        f"This is a bug in that plugin: report it to its authors, and meanwhile choose another {spec.section} "
        f"(`toolkit list {kind}`) or leave the plugin out with TOOLKIT_LOAD_PLUGINS."
    )


def _tuples_for_tuple_parameters(factory: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """TOML has arrays but no tuples: turn a list into a tuple where the parameter is annotated as one."""
    result = dict(values)
    for p in parameters(factory):
        if isinstance(result.get(p.name), list) and _mentions_tuple(p.annotation):
            result[p.name] = tuple(result[p.name])
    return result


def _mentions_tuple(annotation: Any) -> bool:
    if annotation is tuple or typing.get_origin(annotation) is tuple:
        return True
    return any(_mentions_tuple(a) for a in typing.get_args(annotation))


# Optimizers and schedulers: any class of torch.optim / torch.optim.lr_scheduler, looked up by name
# among those modules' own classes (never imported from a user string).

def _classes(module: Any, base: type) -> dict[str, type]:
    return {name: obj for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, base) and obj is not base and not name.startswith("_")}


def optimizer_classes() -> dict[str, type]:
    return _classes(torch.optim, torch.optim.Optimizer)


def scheduler_classes() -> dict[str, type]:
    base = getattr(torch.optim.lr_scheduler, "LRScheduler", None) or torch.optim.lr_scheduler._LRScheduler
    classes = _classes(torch.optim.lr_scheduler, base)
    classes["ReduceLROnPlateau"] = torch.optim.lr_scheduler.ReduceLROnPlateau
    return classes


def _lookup_class(table: dict[str, type], spec: ComponentSpec, where: str, what: str) -> type:
    if spec.name in table:
        return table[spec.name]
    hint = did_you_mean(spec.name, table)
    raise ToolkitError(f"{where}: {spec.section}.name: unknown {what} {spec.name!r}.{hint} Known: {', '.join(sorted(table))}.")


def _check_torch_spec(table: dict[str, type], spec: ComponentSpec, where: str, what: str, first: str) -> type:
    cls = _lookup_class(table, spec, where, what)
    problems = check_parameters(cls, _tuples_for_tuple_parameters(cls, spec.params), exclude=(first,))
    if problems:
        raise ToolkitError(_problems_message(where, spec, problems))
    return cls


def check_optimizer_spec(spec: ComponentSpec, where: str) -> type:
    return _check_torch_spec(optimizer_classes(), spec, where, "torch.optim optimizer", "params")


def check_scheduler_spec(spec: ComponentSpec, where: str) -> type:
    return _check_torch_spec(scheduler_classes(), spec, where, "torch.optim.lr_scheduler scheduler", "optimizer")


def _instantiate(cls: type, first: Any, spec: ComponentSpec, where: str) -> Any:
    try:
        return cls(first, **_tuples_for_tuple_parameters(cls, spec.params))
    except (ValueError, TypeError) as exc:
        raise ToolkitError(
            f"{where}: [{spec.section}] {spec.name}: {str(exc).rstrip('.')}. Change that value under [{spec.section}] "
            f"(torch's documentation of {spec.name} lists what each parameter accepts)."
        ) from None


def make_optimizer(spec: ComponentSpec, params: list[Any], where: str) -> torch.optim.Optimizer:
    return _instantiate(check_optimizer_spec(spec, where), params, spec, where)


def _stand_in_optimizer(spec: ComponentSpec, where: str) -> torch.optim.Optimizer:
    """The optimizer of ``spec`` on a stand-in parameter, to check its values (a negative lr) before training.

    A real optimizer's ``add_param_group`` imports ``torch._dynamo`` (seconds of start-up) on first use; this
    subclass fills the group with the defaults as the original does, which is all a check and a scheduler need.
    """
    cls = check_optimizer_spec(spec, where)

    def add_param_group(self: torch.optim.Optimizer, group: dict[str, Any]) -> None:
        self.param_groups.append({**self.defaults, **group, "params": list(group["params"])})

    probe = type(cls.__name__, (cls,), {"add_param_group": add_param_group})
    return _instantiate(probe, [nn.Parameter(torch.zeros(1))], spec, where)


def make_scheduler(spec: ComponentSpec, optimizer: torch.optim.Optimizer, where: str) -> Any:
    return _instantiate(check_scheduler_spec(spec, where), optimizer, spec, where)
