"""Built-in losses."""

from toolkit.api import hookimpl

from .center import SoftmaxCenterLoss
from .contrastive import ContrastiveLoss
from .triplet import TripletLoss


@hookimpl
def register_losses(register):
    register("contrastive", ContrastiveLoss)
    register("triplet", TripletLoss)
    register("softmax_center", SoftmaxCenterLoss)
