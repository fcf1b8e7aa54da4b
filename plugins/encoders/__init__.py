"""Built-in encoders."""

from toolkit import hookimpl

from .convnet import ConvNet
from .mlp import MLP
from .small_cnn import SmallCNN


@hookimpl
def register_encoders(register):
    register("convnet", ConvNet)
    register("mlp", MLP)
    register("small_cnn", SmallCNN)
