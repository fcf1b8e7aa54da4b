"""pytorch-metric-learning as a backend: every PML loss as ``pml.<Class>`` under [loss], every PML miner as
``pml.<Class>`` under [miner]; distances, reducers and regularizers are given by name inside them."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any, Literal

from toolkit.api import Parameter, hookimpl


class _StandIn(types.ModuleType):
    """A slow module's place in ``sys.modules`` until a name it lacks is asked for; then the real module is imported,
    and its names are copied here for code that kept a reference to the stand-in."""

    def __getattr__(self, attribute: str) -> Any:
        del sys.modules[self.__name__]
        try:
            real = importlib.import_module(self.__name__)
        except BaseException:
            sys.modules[self.__name__] = self
            raise
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def _import_lazily(name: str) -> None:
    """PML imports ``scipy.stats`` at module level (seconds) for one function that training never calls: a stand-in
    keeps every command that lists or builds components from paying for it, and a use still gets the real module."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _StandIn(name)
    stand_in.__spec__, stand_in.__file__, stand_in.__loader__ = spec, spec.origin, spec.loader
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    sys.modules[name] = stand_in


for _slow in ("scipy.stats", "scipy.special"):
    _import_lazily(_slow)

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
