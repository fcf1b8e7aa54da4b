"""``toolkit new-plugin``: a fresh plugin package, one stub component of each kind, ready to pip-install."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from toolkit.components.kinds import SINGULAR
from toolkit.errors import ToolkitError

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]$|^[A-Za-z]$")
RESERVED = {"toolkit", "toolkit_plugins"}

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A toolkit plugin: {dist}."
requires-python = ">=3.10"
dependencies = ["metric-toolkit"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This entry point is how toolkit finds the plugin: the module's @hookimpl functions register its components.
[project.entry-points.toolkit]
{module} = "{module}"

[tool.setuptools.packages.find]
where = ["src"]
'''

README = '''\
# {dist}

A toolkit plugin. Install it into the environment that has toolkit, then check
that toolkit sees it:

```bash
pip install -e .
toolkit plugins
toolkit list
```

Each file under `src/{module}/` is one component, registered in `src/{module}/__init__.py`. They are
stubs: each raises a "not implemented" error naming its file until you write it. Rename the components,
delete the kinds you do not need (and their `register_*` hook), and run the tests with
`python -m pytest -q tests`.
'''

STUB_FACTORIES = {
    "datasets": "{prefix}_dataset",
    "encoders": "{cls}Encoder",
    "losses": "{cls}Loss",
    "samplers": "{cls}Sampler",
    "miners": "{cls}Miner",
    "evaluators": "{cls}Evaluator",
}
"""Kind → the stub factory the new plugin registers for it."""

HOOK = '''

@hookimpl
def register_{kind}(register):
    register("{{prefix}}_{singular}", {factory})
'''

INIT = '''\
"""{dist}: toolkit components, registered through the hooks below.

Each hook is called once when toolkit builds its registry. ``register(name, factory)`` adds a component;
``name`` is what a recipe writes in ``name = "..."``. Delete the hooks of kinds this plugin does not add.
"""

from toolkit.api import hookimpl

from .dataset import {prefix}_dataset
from .encoder import {cls}Encoder
from .evaluator import {cls}Evaluator
from .loss import {cls}Loss
from .miner import {cls}Miner
from .sampler import {cls}Sampler

# The plugin API versions this plugin was written for; toolkit refuses to load it under any other.
TOOLKIT_API = "{api_range}"
''' + "".join(HOOK.format(kind=kind, singular=SINGULAR[kind], factory=factory)
          for kind, factory in STUB_FACTORIES.items())

NOT_IMPLEMENTED = '''\
def _not_implemented(what: str) -> ToolkitError:
    return ToolkitError(
        f"{{what}} of plugin {dist!r} is not implemented yet: write it in {{__file__}} "
        f"(it is a stub made by `toolkit new-plugin`)."
    )
'''

DATASET = '''\
"""The {prefix}_dataset dataset (a stub: write :func:`{prefix}_dataset`)."""

from __future__ import annotations

from toolkit.api import Dataset, ToolkitError


{not_implemented}

def {prefix}_dataset(*, data_dir: str = "data", limit_classes: int | None = None) -> Dataset:
    """One line saying what the images are (shown by `toolkit list datasets`).

    Return a Dataset whose splits ("train", "test") are functions that load an ImageSet: a uint8 tensor
    (N, C, H, W) of all images in memory and an int64 tensor (N,) of labels. Only check here that the files
    exist (raise ToolkitError naming the missing path); load them inside the split functions.

    Args:
        data_dir: folder holding the dataset's files.
        limit_classes: keep only the first classes (example of an optional parameter; remove it).
    """

    # The finished factory checks its files, then returns the splits as loading functions:
    #     def load_train() -> ImageSet:
    #         return ImageSet(images, labels)  # uint8 (N, C, H, W) and int64 (N,)
    #     return Dataset("{prefix}_dataset", {{"train": load_train, "test": load_test}})
    raise _not_implemented("The dataset {prefix}_dataset")
'''

ENCODER = '''\
"""The {prefix}_encoder encoder (a stub: write :class:`{cls}Encoder`)."""

from __future__ import annotations

import torch
from torch import nn

from toolkit.api import ToolkitError


{not_implemented}

class {cls}Encoder(nn.Module):
    """One line saying what the network is (shown by `toolkit list encoders`).

    Maps a float batch of images (B, C, H, W) to embeddings (B, embedding_dim).

    Args:
        embedding_dim: size of the embedding.
    """

    def __init__(self, *, embedding_dim: int = 32):
        super().__init__()
        raise _not_implemented("The encoder {prefix}_encoder")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raise _not_implemented("The encoder {prefix}_encoder")
'''

LOSS = '''\
"""The {prefix}_loss loss (a stub: write :class:`{cls}Loss`)."""

from __future__ import annotations

import torch

from toolkit.api import EmbeddedBatch, Loss, ToolkitError


{not_implemented}

class {cls}Loss(Loss):
    """One line saying what the loss optimises (shown by `toolkit list losses`).

    ``batch_kind`` says which sampler the loss needs: "pairs", "triplets" or "labels". ``forward``
    gets the embedded batch (``batch.embeddings`` is (B, members, D)) and returns a scalar.

    Args:
        margin: example parameter; replace it with the loss's own.
    """

    batch_kind = "pairs"

    def __init__(self, *, margin: float = 1.0):
        super().__init__()
        raise _not_implemented("The loss {prefix}_loss")

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        raise _not_implemented("The loss {prefix}_loss")
'''

SAMPLER = '''\
"""The {prefix}_sampler sampler (a stub: write :class:`{cls}Sampler`)."""

from __future__ import annotations

import torch

from toolkit.api import Batch, ToolkitError


{not_implemented}

class {cls}Sampler:
    """One line saying how batches are drawn (shown by `toolkit list samplers`).

    ``epoch(labels, generator)`` returns all batches of one epoch as :class:`toolkit.api.Batch` objects of
    ``kind`` ("pairs", "triplets" or "labels"), drawn with tensor operations over the whole epoch and only
    from ``generator``, so that a seed repeats a run.

    Args:
        batch_size: rows per batch.
    """

    kind = "pairs"

    def __init__(self, *, batch_size: int = 128):
        raise _not_implemented("The sampler {prefix}_sampler")

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        raise _not_implemented("The sampler {prefix}_sampler")
'''

MINER = '''\
"""The {prefix}_miner miner (a stub: write :class:`{cls}Miner`)."""

from __future__ import annotations

import torch

from toolkit.api import MinedPairs, MinedTriplets, ToolkitError


{not_implemented}

class {cls}Miner:
    """One line saying which pairs or triplets the miner picks (shown by `toolkit list miners`).

    A recipe's [miner] is built and passed to the loss factory as its ``miner`` argument; the loss calls it
    with the batch's embeddings (N, D) and labels (N,). It returns row indices, as :class:`toolkit.api.Miner`
    says: pairs as (anchor, positive, anchor_negative, negative), or triplets as (anchor, positive, negative).

    Args:
        margin: example parameter; replace it with the miner's own.
    """

    def __init__(self, *, margin: float = 0.2):
        raise _not_implemented("The miner {prefix}_miner")

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> MinedPairs | MinedTriplets:
        raise _not_implemented("The miner {prefix}_miner")
'''

EVALUATOR = '''\
"""The {prefix}_evaluator evaluator (a stub: write :class:`{cls}Evaluator`)."""

from __future__ import annotations

from toolkit.api import EvalContext, Evaluator, ToolkitError


{not_implemented}

class {cls}Evaluator(Evaluator):
    """One line saying what the evaluator measures (shown by `toolkit list evaluators`).

    ``evaluate(context)`` returns metric name to number, numbers only; ``context.embed("test")`` gives the
    embeddings and labels of a split. A file it writes goes into ``context.out_dir`` and is announced with
    ``context.add_artifact(name, path)``. ``splits`` lists the splits it reads (checked before training);
    define ``on_epoch_end(context, epoch)`` to watch training.

    Args:
        split: the split to evaluate.
    """

    def __init__(self, *, split: str = "test"):
        self.splits = [split]
        raise _not_implemented("The evaluator {prefix}_evaluator")

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        raise _not_implemented("The evaluator {prefix}_evaluator")
'''

TEST = '''\
"""Tests of {dist}. Start here: replace each stub test with tests of the finished component.

They import only toolkit.api and this package; `toolkit.api.run_recipe` trains a recipe for a test.
"""

from __future__ import annotations

import pytest

from toolkit.api import ToolkitError, registered
from {module}.dataset import {prefix}_dataset
from {module}.encoder import {cls}Encoder
from {module}.evaluator import {cls}Evaluator
from {module}.loss import {cls}Loss
from {module}.miner import {cls}Miner
from {module}.sampler import {cls}Sampler

COMPONENTS = {{
    "datasets": ("{prefix}_dataset", {prefix}_dataset),
    "encoders": ("{prefix}_encoder", {cls}Encoder),
    "losses": ("{prefix}_loss", {cls}Loss),
    "samplers": ("{prefix}_sampler", {cls}Sampler),
    "miners": ("{prefix}_miner", {cls}Miner),
    "evaluators": ("{prefix}_evaluator", {cls}Evaluator),
}}


@pytest.mark.parametrize("kind", list(COMPONENTS))
def test_the_plugin_registers_one_component_of_each_kind(kind):
    assert registered(kind)[COMPONENTS[kind][0]] == "{dist}.{module}"


@pytest.mark.parametrize("kind", list(COMPONENTS))
def test_each_stub_says_which_file_to_edit(kind):
    with pytest.raises(ToolkitError, match="not implemented yet: write it in .*[.]py"):
        COMPONENTS[kind][1]()
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "src/{module}/__init__.py": INIT,
    "src/{module}/dataset.py": DATASET,
    "src/{module}/encoder.py": ENCODER,
    "src/{module}/loss.py": LOSS,
    "src/{module}/sampler.py": SAMPLER,
    "src/{module}/miner.py": MINER,
    "src/{module}/evaluator.py": EVALUATOR,
    "tests/test_{module}.py": TEST,
}


def api_range() -> str:
    """The range of plugin API versions a new plugin accepts: this API version up to the next major one."""
    from toolkit.api import API_VERSION

    major, minor = (int(part) for part in API_VERSION.split(".")[:2])
    return f">={major}.{minor},<{major + 1}"


def plugin_names(name: str) -> dict[str, str]:
    """The distribution, module, component-prefix and class-prefix names derived from ``name``.

    ``name`` is a distribution name such as ``toolkit-cats``; the module is ``toolkit_cats`` and the
    components are ``cats_dataset``, ``cats_encoder``, ... (a leading ``toolkit-`` is dropped from them).
    """
    if not NAME_PATTERN.match(name):
        raise ToolkitError(
            f"{name!r} is not a valid plugin name: use letters, digits, '-' and '_', starting with a letter and not "
            "ending with '-' or '_' (for example toolkit-cats)."
        )
    dist = name.lower().replace("_", "-")
    module = dist.replace("-", "_")
    if module in RESERVED or keyword.iskeyword(module):
        raise ToolkitError(f"{name!r} cannot be a plugin name: the module {module!r} would shadow "
                           f"{'Python syntax' if keyword.iskeyword(module) else 'toolkit itself'}. Choose another name, for example toolkit-cats.")
    prefix = re.sub(r"^toolkit_", "", module) or module
    cls = "".join(part.capitalize() for part in prefix.split("_"))
    return {"dist": dist, "module": module, "prefix": prefix, "cls": cls}


def new_plugin(name: str, target: str | Path | None = None) -> list[Path]:
    """Write the skeleton of plugin ``name`` into ``target`` (default ``./NAME``); returns the files written.

    An existing non-empty ``target`` is refused, so nothing of the user's is ever overwritten.
    """
    names = plugin_names(name)
    folder = Path(target) if target is not None else Path(name)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ToolkitError(
            f"{str(folder)!r} already exists and is not an empty folder; new-plugin never overwrites files. "
            "Choose another folder with --dir, or remove that one."
        )
    values = {**names, "not_implemented": NOT_IMPLEMENTED.format(**names), "api_range": api_range()}
    written = []
    for relative, template in FILES.items():
        path = folder / relative.format(**names)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        written.append(path)
    return written
