"""Built-in encoders."""

import importlib.util

from toolkit.api import hookimpl

from .center_cnn import CenterCNN
from .convnet import ConvNet
from .face_cnn import FaceCNN
from .mlp import MLP
from .small_cnn import SmallCNN
from .torchvision_backbone import TorchvisionBackbone


@hookimpl
def register_encoders(register):
    register("convnet", ConvNet)
    register("mlp", MLP)
    register("small_cnn", SmallCNN)
    register("face_cnn", FaceCNN)
    register("center_cnn", CenterCNN)
    register("torchvision", TorchvisionBackbone)
    if importlib.util.find_spec("timm") is not None:  # the optional [timm] extra
        from .timm_backbone import TimmBackbone

        register("timm", TimmBackbone)
