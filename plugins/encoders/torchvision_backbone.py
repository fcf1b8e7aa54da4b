"""Any torchvision classification model as a backbone, its classifier replaced by an embedding head."""

from __future__ import annotations

import difflib
import pickle
from pathlib import Path

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from toolkit.api import Preprocessing, ToolkitError

from .backbone_head import BackboneWithHead

# the attribute that holds the classifier, in the order torchvision's families use them
CLASSIFIER_ATTRIBUTES = ("fc", "classifier", "heads", "head")


def architectures() -> list[str]:
    """Every classification model torchvision can build by name."""
    import torchvision.models

    return sorted(torchvision.models.list_models(module=torchvision.models))


def _check_arch(arch: str) -> None:
    known = architectures()
    if arch in known:
        return
    close = difflib.get_close_matches(arch, known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ToolkitError(f"[encoder] arch: torchvision has no classification model {arch!r}.{hint} "
                       f"Known: {', '.join(known)}.")


def weights_enum(arch: str, weights: str):
    """The torchvision weights ``weights`` ("DEFAULT", "IMAGENET1K_V1" or "ResNet18_Weights.IMAGENET1K_V1") of ``arch``."""
    import torchvision.models

    enum = torchvision.models.get_model_weights(arch)
    member = weights.split(".", 1)[1] if weights.startswith(f"{enum.__name__}.") else weights
    if member not in enum.__members__:
        raise ToolkitError(f"[encoder] weights: {arch} has no weights {weights!r}. "
                           f"Known: {', '.join(enum.__members__)} (or leave weights out for random initialisation).")
    return enum[member]


def preprocessing(arch: str, weights: str | None) -> Preprocessing:
    """The normalisation and size of torchvision's ``weights`` of ``arch`` (its default weights' when None, for a
    state dict read from a file)."""
    import torchvision.models

    chosen = weights_enum(arch, weights) if weights else torchvision.models.get_model_weights(arch).DEFAULT
    preset = chosen.transforms()  # builds the preset only: nothing is downloaded
    side = list(getattr(preset, "crop_size", None) or [])
    source = f"torchvision's {chosen}" if weights else f"{arch}'s default weights ({chosen}), assumed for weights_path"
    return Preprocessing(tuple(preset.mean), tuple(preset.std), (side[0], side[-1]) if side else None, source=source)


def _download(arch: str, weights: str) -> dict[str, torch.Tensor]:
    chosen = weights_enum(arch, weights)
    try:
        return chosen.get_state_dict(progress=False, check_hash=True)
    except OSError as exc:  # URLError and socket errors are OSErrors
        raise ToolkitError(
            f"[encoder] weights = {weights!r}: could not download {chosen} from {chosen.url} ({exc}). "
            "Without internet, download that file on another machine, copy it here and set "
            "weights_path = \"/path/to/file.pth\" instead of weights."
        ) from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a file, loaded without running any code the file may carry."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolkitError(f"[encoder] weights_path: {path} does not exist. Give the path of a saved state dict "
                           "(torch.save(model.state_dict(), path)).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).splitlines()[0]
        raise ToolkitError(f"[encoder] weights_path: {path} was refused: loading it would run code it carries "
                           f"({reason}). Only plain state dicts of tensors are read.") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ToolkitError(f"[encoder] weights_path: {path} is not a file saved with torch.save ({exc}).") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # checkpoints that wrap the weights
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ToolkitError(f"[encoder] weights_path: {path} holds a {type(state).__name__}, not a state dict "
                           "(a mapping of parameter names to tensors).")
    return state


def _classifier(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """The module holding the classifier, the name of its last Linear layer, and that layer."""
    for attribute in CLASSIFIER_ATTRIBUTES:
        holder = getattr(model, attribute, None)
        if isinstance(holder, nn.Linear):
            return model, attribute, holder
        if isinstance(holder, nn.Sequential):
            linear = [(name, m) for name, m in holder.named_children() if isinstance(m, nn.Linear)]
            if linear:
                return holder, *linear[-1]
    raise ToolkitError(f"[encoder] arch: {type(model).__name__} has no linear classifier to replace by an embedding "
                       "head; choose another architecture.")


def load_matching(model: nn.Module, state: dict[str, torch.Tensor], arch: str, source: str, *,
                  ignore: tuple[str, ...] = tuple(f"{a}." for a in CLASSIFIER_ATTRIBUTES)) -> None:
    """Load ``state`` into ``model``; every key must fit except the classifier's (``ignore``), which is replaced."""
    state = {k: v for k, v in state.items() if not k.startswith(ignore)}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same names, other shapes
        raise ToolkitError(f"[encoder] {source} does not fit {arch}: {str(exc).splitlines()[-1].strip()} "
                           "Are these weights of another architecture?") from None
    missing = [k for k in result.missing_keys if not k.startswith(ignore)]
    unexpected = result.unexpected_keys
    if missing or unexpected:
        raise ToolkitError(f"[encoder] {source} does not fit {arch}: missing keys {_some(missing)}; unexpected keys "
                           f"{_some(unexpected)}. Are these weights of another architecture?")


def _some(keys: list[str]) -> str:
    if not keys:
        return "none"
    return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


class TorchvisionBackbone(BackboneWithHead):
    """A torchvision classification model (ResNet, ConvNeXt, EfficientNet, ViT, ...) with an embedding head.

    The model's classifier is replaced by ``Linear(features, embedding_dim)``, optionally followed by
    BatchNorm, and the embedding is L2-normalised unless ``normalize = false``. Grey images are repeated to three
    channels. Pretrained weights come from torchvision (``weights``, downloaded once into torch's cache) or from a
    local state dict (``weights_path``); neither gives random initialisation. Pretrained weights bring their own
    normalisation (mean and std; for ``weights_path`` those of the arch's default torchvision weights), which the
    run applies in training, evaluation and to images given later unless the dataset normalises itself, and their
    image size (the crop size of their transforms), to which a dataset of image files without a ``size`` is resized.

    Args:
        arch: torchvision model name, e.g. ``resnet18``, ``resnet50``, ``convnext_tiny``, ``efficientnet_b0``,
            ``vit_b_16`` (``torchvision.models.list_models()`` lists them all).
        weights: torchvision weights of that model: ``DEFAULT`` or a name such as ``IMAGENET1K_V1``.
        weights_path: a local file saved with ``torch.save(model.state_dict(), path)`` for the same arch.
        embedding_dim: size of the embedding.
        head_batch_norm: put a BatchNorm1d after the head's linear layer.
        normalize: L2-normalise the embedding.
        freeze_epochs: train only the head for this many epochs first; the backbone (weights and BatchNorm
            statistics) stays exactly as loaded meanwhile.
        freeze_batch_norm: keep every BatchNorm of the backbone in evaluation mode with fixed affine weights,
            as is usual when fine-tuning with small batches.
    """

    def __init__(self, *, arch: str = "resnet18", weights: str | None = None, weights_path: str | None = None,
                 embedding_dim: Annotated[int, Field(ge=1)] = 128, head_batch_norm: bool = False,
                 normalize: bool = True, freeze_epochs: Annotated[int, Field(ge=0)] = 0,
                 freeze_batch_norm: bool = False):
        super().__init__(embedding_dim=embedding_dim, head_batch_norm=head_batch_norm, normalize=normalize,
                         freeze_epochs=freeze_epochs, freeze_batch_norm=freeze_batch_norm)
        import torchvision.models

        _check_arch(arch)
        if weights and weights_path:
            raise ToolkitError("[encoder] weights and weights_path are both given; keep one.")
        if weights:
            weights_enum(arch, weights)  # a misspelt name fails before any download
        options = {"aux_logits": False, "init_weights": False} if arch in {"googlenet", "inception_v3"} else {}
        backbone = torchvision.models.get_model(arch, weights=None, **options)
        if weights or weights_path:
            state = _download(arch, weights) if weights else read_state_dict(weights_path)
            load_matching(backbone, state, arch, f"weights {weights!r}" if weights else f"weights_path {weights_path}")
        holder, name, linear = _classifier(backbone)
        setattr(holder, name, nn.Identity())
        self.arch = arch
        self.preprocessing = preprocessing(arch, weights) if weights or weights_path else None
        self.attach(backbone, linear.in_features, name=arch,
                    min_size=torchvision.models.get_model_weights(arch).DEFAULT.meta.get("min_size", (1, 1)))
