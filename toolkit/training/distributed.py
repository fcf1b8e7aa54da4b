"""Data-parallel training over several processes with torch.distributed, as started by ``torchrun``.

``torchrun`` starts one process per GPU (or per share of the CPU) and tells each its place through environment
variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). A run that finds
``WORLD_SIZE`` above 1 joins a process group (backend ``nccl`` on GPUs, ``gloo`` on the CPU); any other run has a
world of one process and never touches torch.distributed. Every call the toolkit makes to torch.distributed is
in this module.

The convention: ``batch_size`` (and every other sampler setting) describes the global batch. Every process draws
the same epoch plan from the same seed and takes its own equal, contiguous slice of each batch, so ``N``
processes train on the batches one process would (less the last ``size % N`` rows of a batch that does not
divide), each doing ``1/N`` of the work.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
import gc
from typing import Any, Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn

from toolkit.components.contracts import Batch, Sampler
from toolkit.errors import ToolkitError

ENVIRONMENT = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
"""The variables torchrun sets for every process it starts (besides ``MASTER_ADDR`` and ``MASTER_PORT``)."""


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes: ``rank`` of ``size``, ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "World":
        """The world torchrun describes in ``environ``; a world of one without ``WORLD_SIZE``."""
        if "WORLD_SIZE" not in environ:
            return cls()
        try:
            rank, size, local = (int(environ.get(name, "0")) for name in ENVIRONMENT)
        except ValueError:
            shown = ", ".join(f"{name}={environ.get(name)!r}" for name in ENVIRONMENT)
            raise ToolkitError(
                f"The environment says this is one process of a distributed run, but its variables are not whole "
                f"numbers ({shown}). Start distributed runs with torchrun, which sets them, or unset WORLD_SIZE."
            ) from None
        if size < 1 or not 0 <= rank < size:
            raise ToolkitError(
                f"The environment gives RANK={rank} and WORLD_SIZE={size}; a rank must lie in 0 .. WORLD_SIZE - 1. Start "
                "distributed runs with torchrun, which sets both, or unset WORLD_SIZE."
            )
        return cls(rank, size, local)

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that reads and writes the run folder and evaluates."""
        return self.rank == 0


def backend(device: torch.device) -> str:
    """``nccl`` for GPUs, ``gloo`` for the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextmanager
def process_group(world: World, device: torch.device) -> Iterator[None]:
    """Join the run's process group for the duration (nothing to do in a world of one)."""
    if not world.is_distributed:
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend(device), rank=world.rank, world_size=world.size)
    try:
        yield
    finally:
        # DistributedDataParallel's reducer sits in reference cycles that would otherwise be freed only as the
        # interpreter shuts down, where freeing gloo's work aborts the process ("terminate called ...").
        gc.collect()
        dist.destroy_process_group()


def from_main(world: World, value: Any) -> Any:
    """Rank 0's ``value`` on every rank (other ranks pass anything, usually None)."""
    if not world.is_distributed:
        return value
    box = [value if world.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def parallel(module: nn.Module, world: World) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel, which averages its gradients over the ranks after each
    backward pass; the module itself in a world of one. The wrapped module keeps its own ``state_dict`` keys."""
    if not world.is_distributed:
        return module
    # Every parameter of the encoder and the loss must take part in each step's loss (true of every built-in
    # component); DistributedDataParallel stops with an error naming the parameters that did not.
    return nn.parallel.DistributedDataParallel(module)


def share_weights(module: nn.Module, world: World) -> None:
    """Give every rank rank 0's weights and buffers: the BatchNorm statistics each rank updated on its own slices,
    and the weights rank 0 alone chose for evaluation (``best.pt``)."""
    if world.is_distributed:
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor, src=0)


def all_finite(value: torch.Tensor, world: World) -> bool:
    """Whether the step's loss is finite on every rank: all ranks must take or skip a step together."""
    finite = torch.isfinite(value.detach())
    if world.is_distributed:
        finite = finite.to(torch.int32)
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite)


def global_mean(value: torch.Tensor, world: World) -> float:
    """The mean of a scalar over the ranks: the loss of the global batch, since each rank has an equal slice."""
    value = value.detach()
    if world.is_distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value = value / world.size
    return float(value)


class ShardedSampler:
    """A sampler's batches, each cut into ``world.size`` equal contiguous slices of which this rank takes its own.

    The epoch plan comes from the same generator (seeded by the seed and the epoch) on every rank, so the slices
    are disjoint and together make the wrapped sampler's global batch. Slices are equal so that the mean of the
    ranks' losses is the global batch's, and so that losses gathering every rank's embeddings get the same number
    from each: a batch whose size is not a multiple of ``world.size`` (a short last batch) leaves out its last
    ``size % world.size`` rows on every rank, and a batch with fewer rows than processes is left out whole.
    """

    def __init__(self, sampler: Sampler, world: World):
        self.sampler, self.world = sampler, world
        self.kind = sampler.kind
        self.batch_size = sampler.batch_size

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        return [self._slice(batch) for batch in self.sampler.epoch(labels, generator) if len(batch) >= self.world.size]

    def _slice(self, batch: Batch) -> Batch:
        share = len(batch) // self.world.size
        lo, hi = self.world.rank * share, (self.world.rank + 1) * share
        same = None if batch.same is None else batch.same[lo:hi]
        return Batch(batch.kind, batch.indices[lo:hi], batch.labels[lo:hi], same)


def shard(sampler: Sampler, world: World) -> Sampler:
    """This rank's share of ``sampler``'s batches (the sampler itself in a world of one)."""
    return ShardedSampler(sampler, world) if world.is_distributed else sampler


def gather_rows(part: torch.Tensor, total: int, world: World) -> torch.Tensor:
    """Every rank's ``part`` of a ``total``-row tensor, in rank order; rank r's part is its
    :func:`row_range`. In a world of one, ``part`` itself."""
    if not world.is_distributed:
        return part
    sizes = [hi - lo for lo, hi in (row_range(total, World(r, world.size)) for r in range(world.size))]
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    padded = torch.zeros((max(sizes), *part.shape[1:]), dtype=part.dtype, device=device)
    padded[: len(part)] = part.to(device)
    pieces = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(pieces, padded)
    return torch.cat([piece[:size] for piece, size in zip(pieces, sizes)]).cpu()


def row_range(total: int, world: World) -> tuple[int, int]:
    """The rows ``lo:hi`` of ``total`` that rank ``world.rank`` works on: contiguous, sizes within one of each other."""
    base, extra = divmod(total, world.size)
    lo = world.rank * base + min(world.rank, extra)
    return lo, lo + base + int(world.rank < extra)
