"""The pytorch-metric-learning classes a recipe may name, and the keyword parameters each accepts.

Names resolve only against the classes that PML's own ``losses``, ``miners``, ``distances``, ``reducers``
and ``regularizers`` modules define: a recipe string is looked up in these tables, never imported.

PML classes take ``**kwargs`` and hand them up their base classes (``distance``, ``reducer``,
``embedding_regularizer`` ...), so a class's parameters are collected along its MRO, minus those that a
subclass fixes itself in its ``super().__init__(...)`` call (for example ``mat_based_loss``). PML rarely
annotates its parameters; types come from its annotations where present, else from the short table
below, else from the default value (a whole-number default of a continuous parameter such as
``neg_margin = 1`` still accepts 0.5).
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import typing
from typing import Any, Literal

import torch
from pytorch_metric_learning import distances, losses, miners, reducers, regularizers

from toolkit.api import Parameter

FAMILIES: dict[str, Any] = {
    "losses": losses, "miners": miners, "distances": distances, "reducers": reducers, "regularizers": regularizers,
}
SINGULAR = {"losses": "loss", "miners": "miner", "distances": "distance", "reducers": "reducer",
            "regularizers": "regularizer"}

# Classes that are abstract bases, need inputs other than labelled embeddings (self-supervised: SelfSupervisedLoss,
# VICRegLoss, ManifoldLoss), combine other losses in Python (MultipleLosses), or return unreduced losses.
EXCLUDED = {
    "losses": {"BaseMetricLossFunction", "GenericPairLoss", "BaseLossWrapper", "EmbeddingRegularizerMixin",
               "WeightRegularizerMixin", "MultipleLosses", "SelfSupervisedLoss", "VICRegLoss", "ManifoldLoss"},
    "miners": {"BaseMiner", "EmbeddingsAlreadyPackagedAsTriplets"},
    "distances": {"BaseDistance", "BatchedDistance"},
    "reducers": {"BaseReducer", "MultipleReducers", "DoNothingReducer"},
    "regularizers": {"BaseRegularizer"},
}

# Parameters holding another PML object, given in a recipe as a class name or a table with ``name``.
OBJECT_PARAMETERS = {"distance": "distances", "reducer": "reducers", "embedding_regularizer": "regularizers",
                     "weight_regularizer": "regularizers", "loss": "losses", "miner": "miners"}
# Parameters that take Python callables: not expressible in TOML, so PML's defaults are always used.
CALLABLE_PARAMETERS = {"weight_init_func", "aggregation_func", "iter_fn"}
# Parameters passed to PML as float tensors (TOML gives a list of numbers).
TENSOR_PARAMETERS = {"weights"}

_STRATEGY = Literal["easy", "semihard", "hard", "all"]
TYPES: dict[str, Any] = {
    "num_classes": int, "embedding_size": int, "centers_per_class": int, "sub_centers": int, "num_bins": int,
    "memory_size": int, "pos_per_bin": int, "neg_per_bin": int, "descriptors_dim": int, "K": int, "l": int,
    "n_bins": int | None, "delta": float | None, "low": float | None, "high": float | None,
    "triplets_per_anchor": int | Literal["all"], "type_of_triplets": Literal["all", "hard", "semihard", "easy"],
    "pos_strategy": _STRATEGY, "neg_strategy": _STRATEGY, "collect_stats": bool | None,
    "allowed_pos_range": tuple[float, float] | None, "allowed_neg_range": tuple[float, float] | None,
    "weights": list[float],
}
CLASS_TYPES: dict[tuple[str, str], Any] = {  # L-Softmax and SphereFace take an integer multiplicative margin
    ("LargeMarginSoftmaxLoss", "margin"): int, ("SphereFaceLoss", "margin"): int,
    ("RankedListLoss", "margin"): float, ("RankedListLoss", "Tn"): float, ("RankedListLoss", "alpha"): float | None,
}

DOCS = {
    "distance": "a PML distance: a name ({distances}) or a table with name and its parameters; default: the class's own.",
    "reducer": "a PML reducer: a name ({reducers}) or a table with name and its parameters; default: the class's own.",
    "embedding_regularizer": "a PML regularizer of the embeddings: a name ({regularizers}) or a table with name.",
    "embedding_reg_weight": "weight of the embedding regularizer's term.",
    "weight_regularizer": "a PML regularizer of the loss's own weights: a name ({regularizers}) or a table with name.",
    "weight_reg_weight": "weight of the weight regularizer's term.",
    "num_classes": "number of classes in the training data (the loss keeps one weight vector or proxy per class).",
    "embedding_size": "size of the encoder's embeddings (the encoder's embedding_dim).",
    "collect_stats": "record PML's internal statistics (slower); default: PML's global setting.",
    "loss": "the PML loss to wrap: a name or a table with name and its parameters.",
    "memory_size": "embeddings kept from earlier batches.",
    "margin": "the margin (see the PML documentation for its unit in this class).",
    "type_of_triplets": "which mined triplets to keep: all, hard, semihard or easy.",
    "triplets_per_anchor": "triplets used per anchor: a number or \"all\".",
}


def classes(family: str) -> dict[str, type]:
    """The usable classes of one PML family by name (abstract bases and unsupported classes left out)."""
    module = FAMILIES[family]
    return {name: obj for name, obj in sorted(vars(module).items())
            if inspect.isclass(obj) and not name.startswith("_") and name not in EXCLUDED[family]}


@functools.lru_cache(maxsize=None)
def _fixed_by_super_call(cls: type) -> frozenset[str]:
    """Keywords that ``cls.__init__`` sets to a constant in its ``super().__init__`` call.

    ``super().__init__(mat_based_loss=False, **kwargs)`` fixes ``mat_based_loss``; a keyword computed from
    the caller's arguments (``num_classes=num_classes * sub_centers``) is still the caller's to give."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls.__dict__["__init__"])))
    except (OSError, TypeError, SyntaxError, KeyError):
        return frozenset()
    fixed = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "super"):
            fixed.update(k.arg for k in node.keywords if k.arg and isinstance(k.value, (ast.Constant, ast.Attribute)))
    return frozenset(fixed)


@functools.lru_cache(maxsize=None)
def class_parameters(cls: type) -> tuple[...]:
    """Keyword parameters of ``cls``, collected along its MRO while each ``__init__`` passes ``**kwargs`` on."""
    found: dict[str, Parameter] = {}
    fixed: set[str] = set()
    for klass in inspect.getmro(cls):
        if klass in (torch.nn.Module, object):
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            hints = typing.get_type_hints(init)
        except Exception:
            hints = {}
        passes_on = False
        for name, p in inspect.signature(init).parameters.items():
            if p.kind is p.VAR_KEYWORD:
                passes_on = True
                continue
            if name == "self" or p.kind is p.VAR_POSITIONAL or name in fixed or name in found:
                continue
            if name in CALLABLE_PARAMETERS:
                continue
            required = p.default is inspect.Parameter.empty
            default = None if required else p.default
            found[name] = Parameter(name, _annotation(cls.__name__, name, hints.get(name), default), default,
                                       required, _doc(name))
        fixed |= _fixed_by_super_call(klass)
        if not passes_on:
            break
    return tuple(found.values())


def _annotation(class_name: str, name: str, hint: Any, default: Any) -> Any:
    if name in OBJECT_PARAMETERS:
        return str | dict[str, Any] | None
    if (class_name, name) in CLASS_TYPES:
        return CLASS_TYPES[(class_name, name)]
    if hint is not None:
        return hint
    if name in TYPES:
        return TYPES[name]
    if isinstance(default, bool):
        return bool
    if isinstance(default, (int, float)):
        return float
    if isinstance(default, str):
        return str
    return Any if default is None else type(default)


def _doc(name: str) -> str:
    text = DOCS.get(name, "")
    if "{" in text:
        text = text.format(**{family: ", ".join(classes(family)) for family in ("distances", "reducers", "regularizers")})
    return text


def documentation_url(family: str, name: str) -> str:
    return f"https://kevinmusgrave.github.io/pytorch-metric-learning/{family}/#{name.lower()}"
