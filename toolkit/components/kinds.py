"""The kinds of component, in one table: the plural that commands and hooks use, the singular that messages use."""

from __future__ import annotations

SINGULAR: dict[str, str] = {
    "datasets": "dataset",
    "encoders": "encoder",
    "losses": "loss",
    "samplers": "sampler",
    "miners": "miner",
    "evaluators": "evaluator",
    "augmentations": "augmentation",
}

KINDS: tuple[str, ...] = tuple(SINGULAR)
"""Every kind, in the order listings show them."""
