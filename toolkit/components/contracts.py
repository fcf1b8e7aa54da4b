"""What components exchange with the runner: batches, and the contracts of samplers, miners, losses, evaluators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Literal, Protocol, Sequence, runtime_checkable

import torch
from torch import nn

from toolkit.imagedata.datasets import Dataset
from toolkit.imagedata.normalization import Preprocessing
from toolkit.training.members import batch_members  # noqa: F401  (part of the plugin API)

BatchKind = Literal["pairs", "triplets", "labels"]


@dataclass
class Batch:
    """Indices into the training split, one row per example and one column per member.

    ``pairs``: ``indices`` is ``(B, 2)`` and ``same`` is ``(B,)``, True where both images share a
    class. ``triplets``: ``(B, 3)`` as anchor, positive, negative. ``labels``: ``(B, 1)``.
    ``labels`` always holds the class of every member, shaped like ``indices``.
    """

    kind: BatchKind
    indices: torch.Tensor
    labels: torch.Tensor
    same: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class EmbeddedBatch:
    """A :class:`Batch` after the encoder: ``embeddings`` is ``(B, members, D)``."""

    kind: BatchKind
    embeddings: torch.Tensor
    labels: torch.Tensor
    same: torch.Tensor | None = None


@runtime_checkable
class Sampler(Protocol):
    """Builds the batches of one epoch from the training labels.

    ``kind`` says which batches it makes (``"pairs"``, ``"triplets"`` or ``"labels"``, see :class:`Batch`) and
    must equal the loss's ``batch_kind``; ``batch_size`` is the number of rows of each batch.
    """

    kind: BatchKind
    batch_size: int

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        """All batches of one epoch; the same generator state gives the same batches."""
        ...


class Encoder(nn.Module):
    """Optional base class of encoders, for the optional parts below.

    Any ``torch.nn.Module`` that maps a float batch of images ``(B, C, H, W)`` to embeddings ``(B, D)`` is an
    encoder; one that subclasses this class may also name groups of parameters, follow the epochs and say how its
    pretrained weights expect images.
    """

    preprocessing: Preprocessing | None = None
    """The normalisation its pretrained weights expect; the run applies it to a dataset that normalises nothing
    itself, in training, evaluation and ``transform.json``. None: the dataset's own normalisation (or none)."""

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named groups of parameters a recipe may give their own options with ``[optimizer.groups.NAME]`` (such as
        a lower learning rate for a pretrained backbone). Default: none."""
        return {}

    def set_epoch(self, epoch: int) -> None:
        """Called before each training epoch, counted from 1 (also when a run resumes mid-epoch), for example to
        keep a backbone frozen for the first epochs. Default: does nothing."""


MinedPairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
MinedTriplets = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@runtime_checkable
class Miner(Protocol):
    """Picks the informative pairs or triplets inside one ``labels`` batch of embeddings.

    A recipe's ``[miner]`` is built and handed to the loss factory as its ``miner`` argument; the loss calls it
    on every batch. The return value uses the convention of pytorch-metric-learning's miners, so their miners
    and the toolkit's losses mix:

    - pairs: ``(anchor, positive, anchor_negative, negative)``, four 1-D ``int64`` tensors of row indices into
      ``embeddings``; ``anchor[i]`` and ``positive[i]`` share a class, ``anchor_negative[j]`` and ``negative[j]``
      do not. The first two have one length, the last two another.
    - triplets: ``(anchor, positive, negative)``, three 1-D ``int64`` tensors of one length.

    Empty tensors mean the miner found nothing in this batch; the loss then decides what that costs (usually 0).
    """

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> MinedPairs | MinedTriplets:
        """``embeddings`` is ``(N, D)``, ``labels`` is ``(N,)``: the pairs or triplets to train on."""
        ...


class Loss(nn.Module):
    """Base class for losses: set ``batch_kind`` and implement ``forward(batch) -> scalar``.

    Parameters a loss owns (class centers, proxies) are trained with the recipe's
    ``[loss.optimizer]`` when one is given. A loss whose parameters should instead be trained with the
    encoder (a classifier head) lists them in :meth:`model_parameters`.
    """

    batch_kind: ClassVar[BatchKind] = "pairs"

    def model_parameters(self) -> list[nn.Parameter]:
        """The loss's parameters trained by the encoder's ``[optimizer]``; by default none."""
        return []

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class EvalContext:
    """What an evaluator may use: the dataset, a cached embedding function, and a folder to write in.

    ``embed(split)`` returns the split's embeddings ``(N, D)`` and labels ``(N,)`` on the CPU, computed once
    per context. A file an evaluator writes into ``out_dir`` is announced with :meth:`add_artifact`, so the
    report, ``toolkit runs`` and ``toolkit results`` find it.
    """

    dataset: Dataset
    encoder: nn.Module
    embed: Callable[[str], tuple[torch.Tensor, torch.Tensor]]
    out_dir: Path
    seed: int
    device: torch.device
    loss: nn.Module | None = None
    artifacts: dict[str, str] = field(default_factory=dict)

    def add_artifact(self, name: str, path: str | Path) -> None:
        """Record the file (or folder) ``path`` this evaluator wrote inside ``out_dir`` under ``name``.

        ``path`` is relative to ``out_dir`` or absolute inside it; it is stored relative to ``out_dir``.
        """
        full = Path(path) if Path(path).is_absolute() else self.out_dir / path
        try:
            relative = full.resolve().relative_to(self.out_dir.resolve())
        except ValueError:
            raise ValueError(f"add_artifact({name!r}, {str(path)!r}): artifacts must lie inside {self.out_dir}") from None
        if not full.exists():
            raise ValueError(f"add_artifact({name!r}, {str(path)!r}): no such file in {self.out_dir}")
        self.artifacts[name] = relative.as_posix()


class Evaluator:
    """Base class for evaluators: implement :meth:`evaluate`; :attr:`splits` and :meth:`on_epoch_end` are optional.

    Subclass it so the optional parts have their defaults; the runner calls every part on every evaluator.
    """

    splits: Sequence[str] = ()
    """The dataset splits this evaluator reads. The runner checks them against the dataset before training, so a
    misspelt split stops the run at once, not after training. Default: none declared (nothing checked)."""

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        """The metrics after training, metric name to number (``{"precision_at_1": 0.98}``).

        Only numbers: a file the evaluator writes (a picture, a JSON history) goes into ``context.out_dir`` and is
        announced with ``context.add_artifact(name, path)``. Anything else in the result stops the run with an
        error naming this evaluator.
        """
        raise NotImplementedError

    def on_epoch_end(self, context: EvalContext, epoch: int) -> None:
        """Called after every training epoch (``epoch`` counts from 1) to watch training; by default nothing.

        The context is fresh each time (embeddings of the current encoder). The runner restores the random number
        generators afterwards, so a watcher never changes what training draws next.
        """
