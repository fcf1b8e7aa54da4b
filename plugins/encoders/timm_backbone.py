"""Any timm model (DINOv2 and other ViTs, ConvNeXt, EfficientNet, ...) as a backbone with an embedding head.

Registered only when timm is installed: ``pip install 'metric-toolkit[timm]'``.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import Field
from torch import nn

from toolkit.api import Preprocessing, ToolkitError

from .backbone_head import BackboneWithHead
from .torchvision_backbone import load_matching, read_state_dict


def _create(model: str, pretrained: bool, options: dict[str, Any]) -> nn.Module:
    import timm

    if model not in timm.list_models() and model not in timm.list_models(pretrained=True):
        close = difflib.get_close_matches(model, timm.list_models(), n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ToolkitError(f"[encoder] model: timm has no model {model!r}.{hint} "
                           "`python -c \"import timm; print(timm.list_models('*dinov2*'))\"` lists names by pattern.")
    try:
        return timm.create_model(model, pretrained=pretrained, num_classes=0, **options)
    except (OSError, ValueError) as exc:  # no network, or no such pretrained tag
        raise ToolkitError(
            f"[encoder] pretrained = true: timm could not fetch the weights of {model!r} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}). Without internet, save the model's state dict on another machine "
            "(torch.save(timm.create_model(name, pretrained=True).state_dict(), path)), copy it here and set "
            "weights_path instead of pretrained."
        ) from None
    except TypeError as exc:
        raise ToolkitError(f"[encoder] options: {model!r} does not take these options ({exc}).") from None


class TimmBackbone(BackboneWithHead):
    """A timm model (e.g. ``vit_small_patch14_dinov2.lvd142m``, ``convnext_tiny``) with an embedding head.

    The model's pooled features go through ``Linear(features, embedding_dim)``, optionally BatchNorm, and are
    L2-normalised unless ``normalize = false``. Grey images are repeated to three channels. With ``pretrained`` or
    ``weights_path``, the mean and std of timm's configuration of the model become the run's normalisation (in
    training, evaluation and for images given later) unless the dataset normalises itself, and its input size the
    size a dataset of image files without a ``size`` is resized to.

    Args:
        model: timm model name, with an optional pretrained tag (``name.tag``).
        pretrained: load timm's pretrained weights (downloaded once from the model hub).
        weights_path: a local file saved with ``torch.save(model.state_dict(), path)`` for the same model.
        options: extra keyword arguments for ``timm.create_model``, e.g. ``{ img_size = 112 }`` for a ViT at
            another resolution.
        embedding_dim: size of the embedding.
        head_batch_norm: put a BatchNorm1d after the head's linear layer.
        normalize: L2-normalise the embedding.
        freeze_epochs: train only the head for this many epochs first.
        freeze_batch_norm: keep every BatchNorm of the backbone in evaluation mode with fixed affine weights.
    """

    def __init__(self, *, model: str = "resnet18", pretrained: bool = False, weights_path: str | None = None,
                 options: dict[str, Any] | None = None, embedding_dim: Annotated[int, Field(ge=1)] = 128,
                 head_batch_norm: bool = False, normalize: bool = True,
                 freeze_epochs: Annotated[int, Field(ge=0)] = 0, freeze_batch_norm: bool = False):
        super().__init__(embedding_dim=embedding_dim, head_batch_norm=head_batch_norm, normalize=normalize,
                         freeze_epochs=freeze_epochs, freeze_batch_norm=freeze_batch_norm)
        if pretrained and weights_path:
            raise ToolkitError("[encoder] pretrained and weights_path are both given; keep one.")
        backbone = _create(model, pretrained, dict(options or {}))
        if weights_path:
            classifier = backbone.pretrained_cfg.get("classifier") or "head"
            load_matching(backbone, read_state_dict(weights_path), model, f"weights_path {weights_path}",
                          ignore=(f"{classifier}.",))
        self.preprocessing = _preprocessing(backbone, model) if pretrained or weights_path else None
        self.attach(backbone, backbone.num_features, name=model)


def _preprocessing(backbone: nn.Module, model: str) -> Preprocessing:
    """The normalisation and input size timm's pretrained configuration of ``model`` gives."""
    from timm.data import resolve_data_config

    config = resolve_data_config({}, model=backbone)
    return Preprocessing(tuple(config["mean"]), tuple(config["std"]), tuple(config["input_size"][1:]),
                         source=f"timm's configuration of {model!r}")
