"""Recipes: TOML files parsed with the standard library into a checked :class:`Recipe`."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic

from toolkit.errors import ToolkitError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class RunSettings(pydantic.BaseModel):
    """The ``[run]`` section: how to train, not what to train."""

    model_config = pydantic.ConfigDict(strict=True, extra="forbid")

    seed: int = pydantic.Field(0, ge=0, le=2**31 - 1)
    """Seeds torch and every sampler; the same seed gives the same CPU run. From 0 to 2147483647 (2**31 - 1)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``auto`` takes a CUDA GPU when there is one."""
    epochs: int = pydantic.Field(10, ge=1)
    """Passes over the training split (each epoch draws fresh pairs or triplets)."""
    output: str | None = None
    """Run folder. Default: ``runs/<recipe name>-<date>-<time>`` in the current directory."""
    threads: int | None = pydantic.Field(None, ge=1)
    """CPU threads for torch and faiss (default: their own choice, one per core). On a machine busy with other jobs,
    fewer threads than cores can be much faster: threads that wait for each other lose their core to the others."""
    compile: bool = False
    """Compile the encoder with ``torch.compile``; the compiling time (the first step's) is logged and recorded
    in ``metrics.json`` under ``compile``, apart from the training speed."""
    channels_last: bool = False
    """Keep the encoder's weights and inputs in channels-last memory order (``torch.channels_last``). Same results
    (up to rounding); on the CPU much faster for small convolutions, whose usual layout oneDNN reorders around every
    call. The built-in CNNs' BatchNorm keeps up with it; a plugin encoder with ``nn.BatchNorm2d`` on few channels may
    get slower."""
    joint_forward: bool = False
    """Embed all members of a pair/triplet batch in one forward pass: fewer, larger calls. The built-in CNNs'
    BatchNorm still computes statistics per member, as separate passes would; a plugin encoder's ``nn.BatchNorm2d``
    sees the members together unless it reads :func:`toolkit.api.batch_members`."""
    precision: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    """``bfloat16``: the encoder's training passes run under bfloat16 autocast (``torch.autocast``); weights, optimizer
    state, the loss and evaluation stay float32. On CPUs with AMX or AVX-512 BF16 (``lscpu`` flags ``amx_bf16``,
    ``avx512_bf16``) and on recent GPUs convolutions run faster (the built-in CNNs' BatchNorm and
    max-pooling keep bfloat16 inputs fast too); on other CPUs it is slower, and the run says so in its log. Results
    differ from float32 training by more than rounding: compare the metrics before relying on it. ``float16``: float16
    autocast with a gradient scaler (saved in checkpoints), for GPUs without bfloat16. ``auto``: bfloat16 where the
    run's device computes it natively, float32 elsewhere; the log and ``metrics.json`` say which ran."""
    max_bad_steps: int = pydantic.Field(20, ge=0)
    """Training stops once more steps than this had a non-finite loss."""
    eval_batch_size: int = pydantic.Field(1024, ge=1)
    """Images embedded at once during evaluation (bounds memory, not results)."""
    tensorboard: bool = False
    """Log losses and metrics for TensorBoard into ``<run folder>/tensorboard`` (needs the ``tensorboard`` package)."""
    monitor: str | None = None
    """``evaluator.metric`` (such as ``knn.precision_at_1``) measured on the validation split during training: that
    evaluator runs with the validation split as its query (and as its own gallery, each image left out). Needs a
    validation split: ``[dataset] validation = 0.1`` or a dataset that has one."""
    monitor_mode: Literal["max", "min"] | None = None
    """Whether a higher or a lower monitored value is better. Default: ``min`` for names with loss, error, eer or
    distance in them, ``max`` otherwise."""
    validate_every: int = pydantic.Field(1, ge=1)
    """Measure ``monitor`` after every this many epochs (and after the last one)."""
    final: Literal["best", "last"] = "last"
    """Which weights are evaluated on the test split and exported: the last epoch's, or those of the epoch with the
    best monitored value (``best.pt``, which needs ``monitor``)."""
    patience: int | None = pydantic.Field(None, ge=1)
    """Stop training after this many validations in a row without a better monitored value (needs ``monitor``)."""


MAX_RECIPE_BYTES = 1024 * 1024
SECTIONS = ("run", "dataset", "sampler", "encoder", "loss", "miner", "optimizer", "scheduler", "evaluators", "augment")
REQUIRED_SECTIONS = ("dataset", "sampler", "encoder", "loss")
DATASET_CORE_KEYS = ("limit", "validation")


@dataclass
class ComponentSpec:
    """A component section: the registered ``name`` and the keyword arguments for its factory."""

    section: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A parsed recipe. ``data`` is the TOML content after overrides, as written to the run folder."""

    path: Path
    data: dict[str, Any]
    run: RunSettings
    dataset: ComponentSpec
    sampler: ComponentSpec
    encoder: ComponentSpec
    loss: ComponentSpec
    optimizer: ComponentSpec
    scheduler: ComponentSpec | None = None
    loss_optimizer: ComponentSpec | None = None
    miner: ComponentSpec | None = None
    evaluators: list[ComponentSpec] = field(default_factory=list)
    augment: list[ComponentSpec] = field(default_factory=list)
    dataset_limit: int | None = None
    dataset_validation: float | None = None
    optimizer_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    warmup_epochs: int = 0
    name: str | None = None
    """The recipe's name when its file is not named after it: a run folder's ``recipe.toml``."""

    @property
    def stem(self) -> str:
        return self.name or self.path.stem


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read, override and check the structure of a recipe (component names are checked later)."""
    path = Path(path)
    if not path.is_file():
        raise ToolkitError(
            f"Recipe file {str(path)!r} does not exist (or is not a file). Check the path; recipes/quickstart.toml is a "
            "complete example to start from."
        )
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:  # a recipe is a page of settings; a huge file would only cost time
            raise ToolkitError(f"Recipe file {str(path)!r} is {path.stat().st_size:,} bytes, more than the "
                               f"{MAX_RECIPE_BYTES:,} any recipe needs; it was not read. Check that it is the right file.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolkitError(f"Cannot read recipe {str(path)!r}: {exc}. A recipe is a TOML text file saved as UTF-8.") from None
    recipe = parse_recipe(text, path, overrides)
    recipe.name = _run_folder_recipe_name(path)
    return recipe


def _run_folder_recipe_name(path: Path) -> str | None:
    """A run folder's ``recipe.toml`` keeps the name of the recipe it was run from in the folder's ``status.json``."""
    import json

    if path.name != "recipe.toml":
        return None
    try:
        name = json.loads((path.parent / "status.json").read_text(encoding="utf-8")).get("recipe")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def parse_recipe(text: str, path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ToolkitError(f"{path}: this is not valid TOML: {exc}. Fix the syntax at that place.") from None
    if not data:
        raise ToolkitError(
            f"{path}: the recipe is empty. A recipe needs at least [dataset], [sampler], [encoder] and [loss] "
            "sections; see recipes/quickstart.toml for a complete example."
        )
    for override in overrides:
        apply_override(data, override, path)
    return _structure(data, path)


def apply_override(data: dict[str, Any], override: str, path: Path) -> None:
    """Apply one ``section.key=value`` override; the value is read as TOML, else taken as a string."""
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ToolkitError(f"--set {override!r}: expected KEY=VALUE, for example --set run.epochs=1.")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ToolkitError(f"--set {override!r}: {'.'.join(parts[:i])} has no item {part!r}.")
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise ToolkitError(f"--set {override!r}: {'.'.join(parts[: i + 1])} is a value, not a section.")
    if isinstance(node, list):
        raise ToolkitError(f"--set {override!r}: name a key inside a list item, e.g. evaluators.0.k.")
    node[parts[-1]] = value


def _structure(data: dict[str, Any], path: Path) -> Recipe:
    data = copy.deepcopy(data)
    for section in data:
        if section not in SECTIONS:
            hint = did_you_mean(section, SECTIONS, n=1, cutoff=0.6, show=lambda s: f"[{s}]")
            raise ToolkitError(f"{path}: unknown section [{section}].{hint} Recipe sections are: {', '.join(SECTIONS)}.")
    for section in REQUIRED_SECTIONS:
        if section not in data:
            raise ToolkitError(f"{path}: the recipe has no [{section}] section; every recipe needs one with a name = \"...\" key.")

    run_table = _table(data.get("run", {}), "run", path)
    try:
        run = RunSettings.model_validate(run_table)
    except pydantic.ValidationError as exc:
        raise ToolkitError(_pydantic_message(exc, "run", path)) from None

    dataset = _component(data["dataset"], "dataset", path)
    limit = dataset.params.pop("limit", None)
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ToolkitError(f"{path}: dataset.limit must be a positive integer (how many items of each split to keep); got {limit!r}.")
    validation = _validation_share(dataset.params.pop("validation", None), path)
    _check_selection(run, path)

    loss = _component(data["loss"], "loss", path)
    loss_optimizer = None
    if "optimizer" in loss.params:
        loss_optimizer = _component(loss.params.pop("optimizer"), "loss.optimizer", path)

    optimizer = _component(data.get("optimizer", {"name": "Adam"}), "optimizer", path)
    scheduler = _component(data["scheduler"], "scheduler", path) if "scheduler" in data else None
    groups, warmup = _optimizer_extras(optimizer, scheduler, path)
    miner = _component(data["miner"], "miner", path) if "miner" in data else None

    evaluators = _component_list(data, "evaluators", "evaluator", path)
    augment = _component_list(data, "augment", "augmentation step", path)

    return Recipe(
        path=path, data=data, run=run, dataset=dataset, sampler=_component(data["sampler"], "sampler", path),
        encoder=_component(data["encoder"], "encoder", path), loss=loss, optimizer=optimizer, scheduler=scheduler,
        loss_optimizer=loss_optimizer, miner=miner, evaluators=evaluators, augment=augment, dataset_limit=limit,
        dataset_validation=validation, optimizer_groups=groups, warmup_epochs=warmup,
    )


def _component_list(data: dict[str, Any], section: str, what: str, path: Path) -> list[ComponentSpec]:
    raw = data.get(section, [])
    if not isinstance(raw, list):
        raise ToolkitError(
            f"{path}: '{section}' must be a list of tables, written as [[{section}]] blocks "
            f"(one per {what}, each with name = \"...\"); got a {type(raw).__name__}."
        )
    return [_component(item, f"{section}.{i}", path) for i, item in enumerate(raw)]


def _optimizer_extras(optimizer: ComponentSpec, scheduler: ComponentSpec | None,
                      path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """``[optimizer.groups.NAME]`` tables and ``warmup_epochs``, taken out of the optimizer's own options."""
    groups = optimizer.params.pop("groups", {})
    warmup = optimizer.params.pop("warmup_epochs", 0)
    if not isinstance(groups, dict) or not all(isinstance(v, dict) for v in groups.values()):
        raise ToolkitError(f"{path}: optimizer.groups must hold one table per parameter group, e.g. "
                           "[optimizer.groups.backbone] with lr = 0.0001.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ToolkitError(f"{path}: optimizer.warmup_epochs must be a whole number of epochs >= 0; got {warmup!r}.")
    if warmup and scheduler is not None and scheduler.name == "ReduceLROnPlateau":
        raise ToolkitError(f"{path}: optimizer.warmup_epochs cannot precede ReduceLROnPlateau, which follows the loss "
                           "rather than the epoch. Remove warmup_epochs or choose an epoch-based [scheduler].")
    return groups, warmup


def _validation_share(share: Any, path: Path) -> float | None:
    """``[dataset] validation``: the share of the training images held out, strictly between 0 and 1."""
    if share is None:
        return None
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise ToolkitError(
            f"{path}: dataset.validation must be a number strictly between 0 and 1, the share of the training images "
            f"held out for validation; got {share!r}. Write for example validation = 0.1 under [dataset]."
        )
    return float(share)


def _check_selection(run: RunSettings, path: Path) -> None:
    """``final = "best"`` and ``patience`` need a monitored metric to choose by."""
    if run.monitor is not None:
        return
    if run.final == "best":
        raise ToolkitError(
            f'{path}: run.final = "best" needs a validation metric to choose the best epoch by, but the recipe sets no '
            'run.monitor. Add run.monitor = "knn.precision_at_1" (an evaluator.metric of the recipe) and a validation '
            'split (validation = 0.1 under [dataset]), or set run.final = "last".'
        )
    if run.patience is not None:
        raise ToolkitError(
            f"{path}: run.patience stops training when the validation metric stops improving, but the recipe sets no "
            'run.monitor. Add run.monitor = "knn.precision_at_1" and validation = 0.1 under [dataset], or remove '
            "run.patience."
        )


def _table(value: Any, section: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ToolkitError(f"{path}: '{section}' must be a table ([{section}] with keys under it); got {value!r}.")
    return value


def _component(value: Any, section: str, path: Path) -> ComponentSpec:
    table = dict(_table(value, section, path))
    name = table.pop("name", None)
    if name is None:
        raise ToolkitError(f"{path}: [{section}] has no 'name' key; set name = \"...\" to a registered component.")
    if not isinstance(name, str):
        raise ToolkitError(f"{path}: {section}.name must be a string naming a registered component; got {name!r}.")
    return ComponentSpec(section, name, table)


def _pydantic_message(exc: pydantic.ValidationError, section: str, path: Path) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join([section, *(str(p) for p in err["loc"])])
        if err["type"] == "extra_forbidden":
            known = list(RunSettings.model_fields)
            hint = did_you_mean(str(err["loc"][-1]), known, n=1)
            problems.append(f"{key}: unknown key.{hint} Keys of [{section}]: {', '.join(known)}.")
        else:
            problems.append(f"{key}: {err['msg'].rstrip('.')}; got {err.get('input')!r}.")
    return f"{path}: " + " ".join(problems)
