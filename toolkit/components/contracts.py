"""What components exchange with the runner: batches, and the shapes of samplers, losses, evaluators."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Protocol, runtime_checkable

import torch
from torch import nn

from toolkit.imagedata.datasets import Dataset
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
    """Builds the batches of one epoch from the training labels."""

    kind: BatchKind
    batch_size: int

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        """All batches of one epoch; the same generator state gives the same batches."""
        ...


class Loss(nn.Module):
    """Base class for losses: set ``batch_kind`` and implement ``forward(batch) -> scalar``.

    Parameters a loss owns (class centers, proxies) are trained with the recipe's
    ``[loss.optimizer]`` when one is given. A loss whose parameters should instead be trained with the
    encoder (a classifier head) lists them in :meth:`model_parameters`.
    """

    batch_kind: ClassVar[BatchKind] = "pairs"

    def model_parameters(self) -> list[nn.Parameter]:
        return []

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class EvalContext:
    """What an evaluator may use: the dataset, a cached embedding function, and a folder to write in."""

    dataset: Dataset
    encoder: nn.Module
    embed: Callable[[str], tuple[torch.Tensor, torch.Tensor]]
    out_dir: Path
    seed: int
    device: torch.device
    loss: nn.Module | None = None


@runtime_checkable
class Evaluator(Protocol):
    """Computes metrics from a trained encoder; may write files into ``context.out_dir``.

    An evaluator may list the dataset splits it reads in a ``splits`` attribute; the runner then checks them
    against the dataset before training, so a misspelt split stops the run at once, not after training.
    """

    def evaluate(self, context: EvalContext) -> dict[str, Any]:
        ...
