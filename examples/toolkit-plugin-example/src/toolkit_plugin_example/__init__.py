"""An example toolkit plugin: one dataset, one encoder and one loss, registered through toolkit's hooks."""

from toolkit.api import hookimpl

from .csv_dataset import pixel_csv
from .encoder import ConvEncoder
from .loss import CosineContrastiveLoss


@hookimpl
def register_datasets(register):
    register("pixel_csv", pixel_csv)


@hookimpl
def register_encoders(register):
    register("conv_pool", ConvEncoder)


@hookimpl
def register_losses(register):
    register("cosine_contrastive", CosineContrastiveLoss)
