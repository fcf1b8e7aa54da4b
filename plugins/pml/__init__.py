"""pytorch-metric-learning as a backend: every PML loss as ``pml.<Class>`` under [loss], every PML miner as
``pml.<Class>`` under [miner]; distances, reducers and regularizers are given by name inside them."""

from __future__ import annotations

from typing import Any, Literal

from toolkit.api import Parameter, hookimpl

from .builders import PREFIX, builder, describe, resolve, signature_function
from .catalogue import class_parameters, classes
from .loss import PMLLoss

BATCH = Parameter(
    "batch", Literal["labels", "pairs", "triplets"], "labels", False,
    "batches the loss takes: labels (a flat batch from the batches or class_balanced sampler; the loss or "
    "[miner] forms the pairs) or pairs/triplets (the pairs or triplets sampler's own, passed to PML as indices_tuple).",
)
MINER = Parameter("miner", Any, None, False,
                  "the miner, built from the recipe's [miner] section (a PML miner name or table also works here).")


def loss_factory(name: str):
    """The registry factory of ``pml.<name>``: the PML loss wrapped as a toolkit Loss."""
    cls = classes("losses")[name]
    own = list(class_parameters(cls))
    takes_miner = any(p.name == "miner" for p in own)  # CrossBatchMemory mines against its memory itself
    parameters = [p if p.name != "miner" else MINER for p in own] + ([] if takes_miner else [MINER]) + [BATCH]
    build = builder("losses", name)

    def make(**kwargs: Any) -> PMLLoss:
        batch = kwargs.pop("batch", "labels")
        miner = kwargs.pop("miner", None) if not takes_miner else None
        if miner is not None:
            miner = resolve("miners", miner, "loss.miner")
        return PMLLoss(build(**kwargs, _where="loss"), name=f"{PREFIX}{name}", batch=batch, miner=miner,
                       embedding_size=kwargs.get("embedding_size"), num_classes=kwargs.get("num_classes"))

    return signature_function(f"{PREFIX}{name}", parameters, describe("losses", name, cls, parameters), make)


def miner_factory(name: str):
    """The registry factory of ``pml.<name>``: the PML miner itself, handed to the loss by the core."""
    build = builder("miners", name)

    def make(**kwargs: Any) -> Any:
        return build(**kwargs, _where="miner")

    parameters = list(class_parameters(classes("miners")[name]))
    return signature_function(f"{PREFIX}{name}", parameters, build.__doc__, make)


@hookimpl
def register_losses(register):
    for name in classes("losses"):
        register(f"{PREFIX}{name}", loss_factory(name))


@hookimpl
def register_miners(register):
    for name in classes("miners"):
        register(f"{PREFIX}{name}", miner_factory(name))
