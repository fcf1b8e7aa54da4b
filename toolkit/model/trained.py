"""A finished run, loaded for use: its recipe, its encoder with the trained weights, and its image transform.

The encoder is rebuilt from the run's ``recipe.toml`` through the registry (the plugin that trained it must be
installed), and its weights come from ``encoder.pt`` loaded without pickle (:func:`toolkit.training.checkpoint.load`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from toolkit.training import checkpoint

from toolkit.runfolder import files, rundir
from toolkit.runfolder.data_paths import check_data_paths
from toolkit.recipes.build import build_dataset, build_encoder
from toolkit.evaluation.evaluate import embed_images
from toolkit.imagedata.datasets import Dataset, ImageSet
from toolkit.errors import ToolkitError
from toolkit.recipes.recipe import Recipe, load_recipe
from toolkit.components.registry import Registry
from toolkit.imagedata.normalization import use_preprocessing
from toolkit.imagedata.transform import ImageTransform


@dataclass
class TrainedModel:
    """A run folder's trained encoder and what is needed to feed it images."""

    run_dir: Path
    recipe: Recipe
    encoder: nn.Module
    transform: ImageTransform
    threshold: dict[str, Any] | None
    registry: Registry | None = None
    _dataset: Dataset | None = field(default=None, repr=False)

    @property
    def dataset(self) -> Dataset:
        """The run's dataset, built from its recipe the first time it is asked for."""
        if self._dataset is None:
            check_data_paths(self.recipe, self.run_dir)
            self._dataset = build_dataset(self.recipe, self.registry)
            use_preprocessing(self._dataset, self.transform.preprocessing)  # as the run normalised its splits
        return self._dataset

    def split(self, name: str) -> ImageSet:
        if name not in self.dataset.split_names:
            raise ToolkitError(
                f"The dataset of {self.run_dir} has no split {name!r}; its splits are: {', '.join(self.dataset.split_names)}."
            )
        return self.dataset.split(name)

    def embed(self, images: ImageSet, *, batch_size: int = 1024, progress: bool = False) -> torch.Tensor:
        """Embeddings ``(N, D)`` of every image, in batches, with a progress bar when asked."""
        return embed_images(self.encoder, images, torch.device("cpu"), batch_size, progress=progress)


def load_run(run_dir: str | Path, registry: Registry | None = None) -> TrainedModel:
    """Load the finished run in ``run_dir``; every problem is a :class:`ToolkitError` naming the file and the fix."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ToolkitError(
            f"There is no run folder at {str(run_dir)!r}. Give the folder a `toolkit run` wrote (its last line says "
            "\"Run folder: ...\"); `toolkit runs` lists the run folders under runs/."
        )
    recipe_path = run_dir / rundir.RECIPE_FILE
    if not recipe_path.is_file():
        raise ToolkitError(f"{str(run_dir)!r} is not a run folder: it holds no {rundir.RECIPE_FILE}. Give the folder a `toolkit run` wrote.")
    encoder_path = run_dir / rundir.ENCODER_FILE
    if not encoder_path.is_file():
        status = _status(run_dir)
        raise ToolkitError(
            f"The run in {str(run_dir)!r} has no trained encoder ({rundir.ENCODER_FILE}) because it did not finish "
            f"(status: {status}). Continue it with `toolkit run --resume {run_dir}` and use it once it has finished."
        )
    recipe = load_recipe(recipe_path)
    _check_encoder_size(recipe, registry, encoder_path)
    encoder = build_encoder(without_starting_weights(recipe), registry)
    state = checkpoint.load(encoder_path)
    try:
        encoder.load_state_dict(state["encoder"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise ToolkitError(
            f"The weights in {encoder_path} do not fit the encoder {recipe.encoder.name!r} that {recipe_path} builds "
            f"({str(exc).splitlines()[0]}); the encoder plugin's code may have changed since the run. Install the plugin "
            "version that trained it, or train the recipe again."
        ) from None
    encoder.eval()
    model = TrainedModel(run_dir, recipe, encoder, _transform(run_dir, recipe, registry), _threshold(run_dir), registry)
    return model


def _status(run_dir: Path) -> str:
    try:
        status = files.read_status(run_dir)
    except ToolkitError:
        return "unknown (its status.json is damaged)"
    return status.status if status else "unknown"


def _transform(run_dir: Path, recipe: Recipe, registry: Registry | None) -> ImageTransform:
    """The stored transform; a run folder written before transforms were stored gets it from its dataset."""
    stored = files.read_transform(run_dir)
    if stored is not None:
        return ImageTransform.from_dict(stored.model_dump(), run_dir / rundir.TRANSFORM_FILE)
    check_data_paths(recipe, run_dir)
    return ImageTransform.of(build_dataset(recipe, registry).split("train"))


def _threshold(run_dir: Path) -> dict[str, Any] | None:
    threshold = files.read_threshold(run_dir)
    return threshold.model_dump() if threshold else None


STARTING_WEIGHTS = ("weights", "weights_path", "pretrained")
"""Encoder parameters that only choose the weights training starts from."""


def without_starting_weights(recipe: Recipe) -> Recipe:
    """The recipe with the encoder's starting-weight parameters left out: ``encoder.pt`` replaces those weights, so
    loading a finished run neither downloads them again nor needs the file training started from."""
    params = {k: v for k, v in recipe.encoder.params.items() if k not in STARTING_WEIGHTS}
    return replace(recipe, encoder=replace(recipe.encoder, params=params))


INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
                "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")
"""The in-place initialisers of ``torch.nn.init``."""


@contextmanager
def _initialisers_skipped() -> Iterator[None]:
    """``torch.nn.init``'s initialisers leave ``meta`` tensors as they are inside the block: they have no values to
    fill, and filling one by normal_ (as ResNets' kaiming_normal_ does) imports torch's compiler, about 1.6 s. Other
    tensors are filled as ever, so a model another thread builds meanwhile is unaffected."""
    saved = {name: getattr(torch.nn.init, name) for name in INITIALISERS}
    for name, initialiser in saved.items():
        setattr(torch.nn.init, name, _skipping_meta(initialiser))
    try:
        yield
    finally:
        for name, initialiser in saved.items():
            setattr(torch.nn.init, name, initialiser)


def _skipping_meta(initialiser: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def initialise(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor if tensor.is_meta else initialiser(tensor, *args, **kwargs)

    return initialise


def _check_encoder_size(recipe: Recipe, registry: Registry | None, encoder_path: Path) -> None:
    """Refuse a recipe whose encoder needs far more memory than its weights file holds (a run folder may come from
    someone else), before building it: the encoder is first built on torch's ``meta`` device, which allocates nothing."""
    try:
        with torch.device("meta"), _initialisers_skipped():
            shape_only = build_encoder(without_starting_weights(recipe), registry)
        needed = sum(t.numel() * t.element_size() for t in shape_only.state_dict().values())
    except Exception:  # noqa: BLE001 - a factory that cannot build on "meta" is checked when its weights load
        return
    stored = encoder_path.stat().st_size
    if needed > 2 * stored + (1 << 20):
        raise ToolkitError(
            f"The encoder that {recipe.path} describes needs {needed:,} bytes of weights, but {encoder_path} holds "
            f"only {stored:,} bytes: the recipe does not belong to these weights, so nothing was built. "
            "Use an intact copy of the run folder."
        )
