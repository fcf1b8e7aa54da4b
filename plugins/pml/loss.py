"""A PML loss as a toolkit :class:`Loss`: the embedded batch flattened to (embeddings, labels[, indices_tuple])."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_metric_learning.utils import distributed as pml_distributed
from torch import nn

from toolkit.api import EmbeddedBatch, Loss, ToolkitError


class PMLLoss(Loss):
    """Calls a PML loss on one batch.

    ``labels`` batches (plain or class-balanced) are one flat set of embeddings: the loss forms its own
    pairs or triplets, or uses those the miner picks. ``pairs`` and ``triplets`` batches are flattened
    too, and the sampled pairs or triplets are given to PML as the explicit ``indices_tuple``, so the
    PML loss sees exactly the pairs the built-in losses would.

    In a distributed run (``torchrun``), a ``labels`` batch is every rank's slice of it: the loss and the
    miner see all ranks' embeddings together (:func:`with_other_ranks`), so the result does not depend on how
    the batch was split. Pair and triplet batches need nothing of the kind: their loss is a mean over
    independent pairs or triplets, and averaging the ranks' gradients gives the whole batch's.
    """

    def __init__(self, loss: nn.Module, *, name: str, batch: str = "labels", miner: Any = None,
                 embedding_size: int | None = None, num_classes: int | None = None):
        super().__init__()
        if batch not in ("labels", "pairs", "triplets"):
            raise ValueError(f"batch must be labels, pairs or triplets, got {batch!r}")
        if miner is not None and batch != "labels":
            raise ValueError(
                f"a miner picks pairs inside a labels batch, but batch = {batch!r} gives the sampler's own {batch}. "
                "Remove [miner], or set batch = \"labels\" with the batches or class_balanced sampler"
            )
        if miner is not None and not callable(miner):
            raise ValueError(f"the miner must be callable as miner(embeddings, labels), got {type(miner).__name__}")
        self.batch_kind = batch  # type: ignore[misc]
        self.loss, self.miner, self.name = loss, miner, name
        self.embedding_size, self.num_classes = embedding_size, num_classes

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        size, members, dim = batch.embeddings.shape
        embeddings = batch.embeddings.reshape(size * members, dim)
        labels = batch.labels.reshape(size * members)
        self._check_sizes(dim, labels)
        if batch.kind == "labels" and pml_distributed.is_distributed() and torch.distributed.get_world_size() > 1:
            embeddings, labels = with_other_ranks(embeddings, labels)
        indices_tuple = None
        if batch.kind == "labels":
            if self.miner is not None:
                indices_tuple = self.miner(embeddings, labels)
        else:
            first = torch.arange(size, device=embeddings.device) * members
            if batch.kind == "pairs":
                same = batch.same.bool()
                indices_tuple = (first[same], first[same] + 1, first[~same], first[~same] + 1)
            else:
                indices_tuple = (first, first + 1, first + 2)
        try:
            return self.loss(embeddings, labels, indices_tuple)
        except (ValueError, AssertionError) as exc:
            raise ToolkitError(
                f"the loss {self.name!r} could not use a batch: {str(exc).strip() or type(exc).__name__}. Check that the "
                "sampler gives what this loss needs (`toolkit list losses`; class_balanced gives every class the "
                "same number of images in each batch)."
            ) from None

    def _check_sizes(self, dim: int, labels: torch.Tensor) -> None:
        """The sizes a loss with per-class weights was built for must fit the encoder and the data."""
        if self.embedding_size is not None and dim != self.embedding_size:
            raise ToolkitError(
                f"loss.embedding_size = {self.embedding_size}, but the encoder gives {dim}-dimensional embeddings. "
                f"Set embedding_size = {dim} under [loss] (or the encoder's embedding_dim to {self.embedding_size})."
            )
        if self.num_classes is not None and len(labels) and int(labels.max()) >= self.num_classes:
            raise ToolkitError(
                f"loss.num_classes = {self.num_classes}, but the training labels go up to {int(labels.max())}. Set "
                f"num_classes under [loss] to the number of classes, {int(labels.max()) + 1} or more."
            )

    def extra_repr(self) -> str:
        return f"name={self.name!r}, batch={self.batch_kind!r}"


def with_other_ranks(embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's embeddings and labels followed by every other rank's, gathered as PML's
    ``DistributedLossWrapper`` and ``DistributedMinerWrapper`` gather them (``utils.distributed.gather``).

    Only this rank's part carries a gradient, so that gradient is multiplied by the world size: once
    DistributedDataParallel averages the ranks' gradients, the encoder gets the gradient of the whole batch's
    loss. (PML's wrapper multiplies the loss instead, which also multiplies the gradient of the loss's own
    parameters, such as proxies or class weights, and the loss reported; here both stay those of the whole batch.)
    """
    world = torch.distributed.get_world_size()
    own = embeddings.view_as(embeddings)
    if own.requires_grad:
        own.register_hook(lambda grad: grad * world)
    gathered, gathered_labels, _ = pml_distributed.gather(own, labels)
    return gathered, gathered_labels
