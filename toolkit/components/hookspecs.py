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
both plugins and says which one is built in; registering one name twice in the same plugin is an error too.
A function whose name is not one of the hooks below (``register_loss`` for ``register_losses``), or a hook
function without ``@hookimpl``, makes the plugin fail to load with a message naming it.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

from toolkit.components.kinds import KINDS

hookspec = pluggy.HookspecMarker("toolkit")
hookimpl = pluggy.HookimplMarker("toolkit")

Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def register_datasets(register: Register) -> None:
    """Register dataset factories.

    Called once per process, when the registry is first built: by the first command that needs components
    (``toolkit run``, ``toolkit list``, ...), before any recipe is read. Each plugin's implementation is called
    on its own, so every name it registers is recorded as that plugin's. The return value is ignored.

    A dataset factory returns a :class:`toolkit.api.Dataset`: named splits (``"train"``, ``"test"``, ...) of
    images held in memory as tensors, with integer class labels. The factory should only check that its files
    exist; the splits are loaded when the runner first asks for them. Raise :class:`toolkit.api.ToolkitError`
    with the missing path and how to provide it when data is absent.
    """


@hookspec
def register_encoders(register: Register) -> None:
    """Register encoder factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    An encoder factory returns a ``torch.nn.Module`` that maps a float batch of images shaped
    ``(B, C, H, W)`` to embeddings shaped ``(B, D)``. The runner calls it with two training images before
    training, so a shape mismatch is reported against the recipe at once.
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register loss factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    A loss factory returns a :class:`toolkit.api.Loss` (subclass it): its ``batch_kind`` (``"pairs"``,
    ``"triplets"`` or ``"labels"``) says which sampler it needs, and its ``forward`` takes a
    :class:`toolkit.api.EmbeddedBatch` and returns a scalar tensor. Parameters of the loss module (class
    centers, proxies) are trained too: by the recipe's ``[loss.optimizer]`` when given, else by the main
    optimizer; those listed by ``model_parameters()`` always train with the encoder. A factory with a ``miner``
    parameter receives the recipe's ``[miner]``.
    """


@hookspec
def register_samplers(register: Register) -> None:
    """Register sampler factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    A sampler factory returns a :class:`toolkit.api.Sampler`, which turns the training labels into one epoch
    of index batches (pairs, triplets or plain labelled batches), vectorised over the whole epoch and
    reproducible from the ``torch.Generator`` it is given. Its ``kind`` must match the loss's ``batch_kind``.
    """


@hookspec
def register_miners(register: Register) -> None:
    """Register miner factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    A miner factory returns a :class:`toolkit.api.Miner`: a callable that picks informative pairs or triplets
    inside a batch of embeddings and returns their indices (the contract is on :class:`toolkit.api.Miner`).
    When a recipe has a ``[miner]`` section, the built miner is passed to the loss factory as its ``miner``
    argument; a loss without that parameter cannot take one.
    """


@hookspec
def register_evaluators(register: Register) -> None:
    """Register evaluator factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    An evaluator factory returns a :class:`toolkit.api.Evaluator` (subclass it). After training, its
    ``evaluate(context)`` returns metric name to number only; files it writes into ``context.out_dir`` are
    announced with ``context.add_artifact(name, path)``. Its optional ``on_epoch_end(context, epoch)`` is called
    after every epoch, and its optional ``splits`` are checked against the dataset before training.
    """


@hookspec
def register_augmentations(register: Register) -> None:
    """Register augmentation factories.

    Called once per process, when the registry is first built, like every ``register_*`` hook; the return value
    is ignored.

    An augmentation factory returns a callable that takes one ``uint8`` image tensor ``(C, H, W)`` and
    returns a randomly changed image of the same shape and type, drawing from torch's global generator.
    A recipe's ``[[augment]]`` steps apply to every training image in turn; evaluation never sees them.
    """


HOOKS: dict[str, str] = {kind: f"register_{kind}" for kind in KINDS}
"""Component kind → the hook that registers it."""
