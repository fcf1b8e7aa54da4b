"""Shared fixtures: recipe writers, tiny IDX data, the real data folder when present."""

from __future__ import annotations

import tomllib
import os
import struct
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("TOOLKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def cache_folder(tmp_path_factory):
    """`toolkit list` keeps what it lists in $TOOLKIT_CACHE_DIR: a temporary one for the tests, never the user's."""
    saved = os.environ.get("TOOLKIT_CACHE_DIR")
    os.environ["TOOLKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield Path(os.environ["TOOLKIT_CACHE_DIR"])
    if saved is None:
        del os.environ["TOOLKIT_CACHE_DIR"]
    else:
        os.environ["TOOLKIT_CACHE_DIR"] = saved


@pytest.fixture
def write_recipe(tmp_path):
    """Write a recipe text (dedented) to a file and return its path."""

    def write(text: str, name: str = "recipe.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


QUICK_RECIPE = """
[run]
seed = 0
epochs = 2

[dataset]
name = "digits"

[sampler]
name = "pairs"
batch_size = 64

[encoder]
name = "mlp"
in_features = 64
hidden = [32]
embedding_dim = 8

[loss]
name = "contrastive"
margin = 1.0

[optimizer]
name = "Adam"
lr = 0.001

[[evaluators]]
name = "knn"
k = [1, 5]
"""


@pytest.fixture
def quick_recipe(write_recipe) -> Path:
    """A complete two-epoch recipe on scikit-learn's digits (no files needed)."""
    return write_recipe(QUICK_RECIPE)


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    """Write ``array`` (uint8) as an IDX file, the format of MNIST's raw files."""
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else (0x0800 | array.ndim)
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


@pytest.fixture
def tiny_mnist(tmp_path) -> Path:
    """A data root with a 200/100-image MNIST-layout dataset: class c images are filled with value 20·c+10."""
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 200), ("t10k", 100)):
        labels = np.arange(n) % 10
        images = (labels[:, None, None] * 20 + 10 + rng.integers(0, 5, (n, 28, 28))).astype(np.uint8)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture
def shared_data() -> Path:
    """The real MNIST / Fashion-MNIST / AT&T faces copies under ../shared/data (skip when absent)."""
    if not (SHARED_DATA / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"real data not found under {SHARED_DATA} (set TOOLKIT_SHARED_DATA to its folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A finished one-epoch run of the quick digits recipe, shared by the tests that use a trained model.

    Treat it as read-only; a test that writes into a run folder copies it first (:func:`copy_run`).
    """
    from toolkit.training.runner import run

    root = tmp_path_factory.mktemp("trained")
    recipe = root / "quick.toml"
    recipe.write_text(QUICK_RECIPE)
    return run(recipe, overrides=("run.epochs=1",), output=str(root / "run"), progress=False).run_dir


def copy_run(run_dir: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(run_dir, target)
    return target


def write_split_images(run_dir: Path, split: str, indices, folder: Path, *, by_class: bool = True) -> list[Path]:
    """Save images of a run's dataset split as PNG files (in one sub-folder per class name when ``by_class``)."""
    from PIL import Image

    from toolkit.model.trained import load_run

    images = load_run(run_dir).split(split)
    paths = []
    for i in indices:
        name = images.class_names[int(images.labels[i])]
        path = (folder / name if by_class else folder) / f"{split}_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images.images[i, 0].numpy(), "L").save(path)
        paths.append(path)
    return paths


def write_faces(root: Path, people: int, images_each: int, size: tuple[int, int] = (28, 24), suffix: str = ".pgm") -> Path:
    """A folder of ``people`` sub-folders ``s1..sN`` of grey images (width x height ``size``); person p's
    images are a bright square at a place of its own on noise, so identities are easy to tell apart."""
    from PIL import Image

    rng = np.random.default_rng(len(str(root)))
    width, height = size
    for p in range(people):
        folder = root / f"s{p + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(images_each):
            pixels = rng.integers(0, 60, (height, width)).astype(np.uint8)
            top, left = (p * 5) % (height - 6), (p * 7) % (width - 6)
            pixels[top:top + 6, left:left + 6] = 250
            Image.fromarray(pixels, "L").save(folder / f"{k + 1}{suffix}")
    return root


@pytest.fixture
def tiny_faces(tmp_path) -> Path:
    """An AT&T-like layout: ``faces/training`` with 5 people and ``faces/testing`` with 3 others, 4 images each,
    92x112 like the real faces."""
    root = tmp_path / "faces"
    write_faces(root / "training", 5, 4, size=(92, 112))
    write_faces(root / "testing", 3, 4, size=(92, 112))
    return root


def fail_evaluation(monkeypatch) -> None:
    """Make the knn evaluator raise after training, as an evaluation that goes wrong would."""
    from toolkit.api import ToolkitError
    from toolkit_plugins.evaluators.knn import KNNEvaluator

    def broken(self, context):
        raise ToolkitError("knn failed on purpose, after training")

    monkeypatch.setattr(KNNEvaluator, "evaluate", broken)


def pairs_recipe(dataset: str, in_features: int) -> str:
    """A one-epoch recipe: a small MLP trained on pairs of the ``[dataset]`` section's images (``in_features`` pixels
    each), evaluated by k-NN among the test images (unseen classes)."""
    return f"""
[run]
seed = 0
epochs = 1
threads = 1

[dataset]
{dataset}

[sampler]
name = "pairs"
batch_size = 16

[encoder]
name = "mlp"
in_features = {in_features}
hidden = [16]
embedding_dim = 4

[loss]
name = "contrastive"

[[evaluators]]
name = "knn"
query = "test"
gallery = "query"
k = [1]
"""


def mkdocs_hooks():
    """tools/mkdocs_hooks.py, the module mkdocs.yml lists under ``hooks:``, imported from its file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mkdocs_hooks", REPO / "tools" / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def resnet18_file(tmp_path) -> Path:
    """A state dict of a randomly initialised torchvision ResNet-18, for ``weights_path`` (tests never download)."""
    import torch
    import torchvision

    torch.manual_seed(1)
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path


def offline_weights(recipe: Path, folder: Path) -> tuple[str, ...]:
    """Overrides that replace a recipe's downloaded pretrained weights by a local file of random weights of the same
    torchvision architecture (tests never download)."""
    encoder = tomllib.loads(recipe.read_text())["encoder"]
    if encoder.get("name") != "torchvision" or not encoder.get("weights"):
        return ()
    import torch
    import torchvision

    path = folder / f"{encoder['arch']}-random.pth"
    if not path.exists():
        torch.save(torchvision.models.get_model(encoder["arch"]).state_dict(), path)
    return ('encoder.weights=""', f'encoder.weights_path="{path}"')
