"""Hook specifications: one hook per component kind.

A plugin is a module with functions decorated by ``toolkit.api.hookimpl`` and named after these hooks,
listed under the ``toolkit`` entry-point group of its package. Each hook is called once, when the
registry is built, with a ``register`` callable::

    from toolkit.api import hookimpl

    @hookimpl
    def register_losses(register):
        register("my_loss", MyLoss)

``register(name, factory)`` adds a component. ``name`` is what a recipe writes in ``name = "..."``;
``factory`` is a class or function called with the recipe section's other keys as keyword
arguments. Its signature is the component's parameter list: annotate each parameter with a type
and give it a default where one makes sense, because recipes are checked against it before training
starts, and ``toolkit list`` shows it. The first line of its docstring is the component's summary.

Registering a name that another plugin already registered for the same kind is an error that names
both plugins.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("toolkit")
hookimpl = pluggy.HookimplMarker("toolkit")

Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def register_datasets(register: Register) -> None:
    """Register dataset factories.

    A dataset factory returns a :class:`toolkit.imagedata.datasets.Dataset`: named splits (``"train"``, ``"test"``,
    ...) of images held in memory as tensors, with integer class labels. The factory should only check
    that its files exist; the splits are loaded when the runner first asks for them. Raise
    :class:`toolkit.api.ToolkitError` with the missing path and how to provide it when data is absent.
    """


@hookspec
def register_encoders(register: Register) -> None:
    """Register encoder factories.

    An encoder factory returns a ``torch.nn.Module`` that maps a float batch of images shaped
    ``(B, C, H, W)`` to embeddings shaped ``(B, D)``.
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register loss factories.

    A loss factory returns a :class:`toolkit.api.Loss`: a ``torch.nn.Module`` whose ``batch_kind``
    (``"pairs"``, ``"triplets"`` or ``"labels"``) says which sampler it needs, and whose ``forward``
    takes a :class:`toolkit.api.EmbeddedBatch` and returns a scalar tensor. Parameters of the loss
    module (class centers, proxies) are trained too: by the recipe's ``[loss.optimizer]`` when given,
    else by the main optimizer.
    """


@hookspec
def register_samplers(register: Register) -> None:
    """Register sampler factories.

    A sampler factory returns a :class:`toolkit.api.Sampler`, which turns the training labels into
    one epoch of index batches (pairs, triplets or plain labelled batches), vectorised over the
    whole epoch and reproducible from the ``torch.Generator`` it is given.
    """


@hookspec
def register_miners(register: Register) -> None:
    """Register miner factories.

    A miner picks informative pairs or triplets inside a batch of embeddings. When a recipe has a
    ``[miner]`` section, the built miner is passed to the loss factory as its ``miner`` argument.
    """


@hookspec
def register_evaluators(register: Register) -> None:
    """Register evaluator factories.

    An evaluator factory returns a :class:`toolkit.api.Evaluator`, whose ``evaluate(context)``
    returns a flat ``dict`` of metric name to number and may write files into ``context.out_dir``.
    Evaluators may also define ``on_epoch_end(context, epoch)`` to watch training.
    """


@hookspec
def register_augmentations(register: Register) -> None:
    """Register augmentation factories.

    An augmentation factory returns a callable that takes one ``uint8`` image tensor ``(C, H, W)`` and
    returns a randomly changed image of the same shape and type, drawing from torch's global generator.
    A recipe's ``[[augment]]`` steps apply to every training image in turn; evaluation never sees them.
    """


HOOKS: dict[str, str] = {
    "datasets": "register_datasets",
    "encoders": "register_encoders",
    "losses": "register_losses",
    "samplers": "register_samplers",
    "miners": "register_miners",
    "evaluators": "register_evaluators",
    "augmentations": "register_augmentations",
}
"""Component kind → the hook that registers it."""
