"""An example toolkit plugin with one component of every kind, registered through toolkit's hooks.

It imports only :mod:`toolkit.api`, and declares the plugin API range it was written for.
"""

from toolkit.api import hookimpl

from .augment import SaltAndPepper
from .csv_dataset import pixel_csv
from .encoder import ConvEncoder
from .evaluator import CentroidEvaluator
from .loss import CosineContrastiveLoss
from .mined_loss import MinedCosineLoss
from .miner import HardPairsMiner
from .sampler import ClassPairsSampler

TOOLKIT_API = ">=1.0,<2"


@hookimpl
def register_datasets(register):
    register("pixel_csv", pixel_csv)


@hookimpl
def register_encoders(register):
    register("conv_pool", ConvEncoder)


@hookimpl
def register_losses(register):
    register("cosine_contrastive", CosineContrastiveLoss)
    register("mined_cosine", MinedCosineLoss)


@hookimpl
def register_samplers(register):
    register("class_pairs", ClassPairsSampler)


@hookimpl
def register_miners(register):
    register("hard_pairs", HardPairsMiner)


@hookimpl
def register_evaluators(register):
    register("centroid", CentroidEvaluator)


@hookimpl
def register_augmentations(register):
    register("salt_and_pepper", SaltAndPepper)
