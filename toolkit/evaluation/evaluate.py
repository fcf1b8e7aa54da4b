"""Embedding whole splits in batches, and running the recipe's evaluators."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from toolkit.training.allocator import keep_freed_memory
from toolkit.components.contracts import EvalContext, Evaluator
from toolkit.evaluation.results import Evaluation, checked_metrics
from toolkit.imagedata.datasets import Dataset, ImageSet
from toolkit.training.distributed import World, gather_rows, row_range, share_weights


@torch.inference_mode()
def embed_images(encoder: nn.Module, images: ImageSet, device: torch.device, batch_size: int = 1024, *,
                 progress: bool = False) -> torch.Tensor:
    """Embeddings ``(N, D)`` of every image of a split, on the CPU, computed in batches in eval mode (with a
    progress bar when asked)."""
    from toolkit.progress import progress as progress_display

    keep_freed_memory()
    was_training = encoder.training
    encoder.eval()
    chunks = []
    starts = range(0, len(images), batch_size)
    for start in progress_display(starts, desc="embedding", unit="batch", enabled=progress and len(starts) >= 2):
        index = torch.arange(start, min(start + batch_size, len(images)), device=images.images.device)
        chunks.append(encoder(images.batch(index).to(device)).float().cpu())
    encoder.train(was_training)
    if not chunks:
        return torch.empty(0, 0)
    return torch.cat(chunks)


def make_context(dataset: Dataset, encoder: nn.Module, device: torch.device, out_dir: Path, seed: int,
                 batch_size: int, loss: nn.Module | None = None,
                 embedded: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None) -> EvalContext:
    """An :class:`EvalContext` whose ``embed(split)`` computes each split once per context (``embedded``: splits
    already computed, such as those :func:`embed_across_ranks` gathered)."""
    cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = dict(embedded or {})

    def embed(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in cache:
            images = dataset.split(split)
            cache[split] = (embed_images(encoder, images, device, batch_size), images.labels.cpu())
        return cache[split]

    return EvalContext(dataset=dataset, encoder=encoder, embed=embed, out_dir=out_dir, seed=seed, device=device, loss=loss)


def embed_across_ranks(dataset: Dataset, encoder: nn.Module, device: torch.device, batch_size: int,
                       world: World) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Every split's embeddings and labels, each rank embedding a contiguous share of the images, gathered on every
    rank (nothing in a world of one: rank 0 then embeds what the evaluators ask for). All ranks must call it."""
    if not world.is_distributed:
        return {}
    share_weights(encoder, world)  # rank 0's final weights and BatchNorm statistics
    embedded = {}
    for split in dataset.split_names:
        images = dataset.split(split)
        if len(images) < world.size:
            continue
        lo, hi = row_range(len(images), world)
        part = embed_images(encoder, images.rows(lo, hi), device, batch_size)
        embedded[split] = (gather_rows(part, len(images), world),
                           images.labels.cpu())
    return embedded


def run_evaluators(evaluators: list[tuple[str, Evaluator]], context: EvalContext) -> Evaluation:
    """Each evaluator's metrics and artifacts under its key from :func:`evaluator_keys` (``knn``, ``kmeans``,
    ``knn_2``, ...).

    Each evaluator gets its own view of ``context`` (the embeddings cache is shared), so the files it announces are
    filed under its name. A metric that is not a number stops the run with an error naming the evaluator's plugin.
    """
    results = Evaluation()
    for key, (_, evaluator) in zip(evaluator_keys([name for name, _ in evaluators]), evaluators):
        own = dataclasses.replace(context, artifacts={})
        results.metrics[key] = checked_metrics(key, evaluator, evaluator.evaluate(own))
        if own.artifacts:
            results.artifacts[key] = own.artifacts
    return results


def evaluator_keys(names: list[str]) -> list[str]:
    """The key of each evaluator's metrics: its name, and ``name_n`` for the n-th use of a name, counted per name so
    that adding one evaluator to a recipe never renames another's metrics."""
    seen: Counter[str] = Counter()
    keys = []
    for name in names:
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return keys
