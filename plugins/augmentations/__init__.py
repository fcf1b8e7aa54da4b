"""Built-in augmentations: the random image transforms of ``torchvision.transforms.v2``, by their class names."""

from toolkit.api import LazyFactory, hookimpl

NAMES = (
    "RandomResizedCrop", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine",
    "RandomPerspective", "ElasticTransform", "ColorJitter", "RandomGrayscale", "RandomInvert", "RandomPosterize",
    "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize", "GaussianBlur", "GaussianNoise",
    "RandAugment", "TrivialAugmentWide", "AugMix", "AutoAugment", "RandomErasing", "RandomChannelPermutation",
)
"""The ``torchvision.transforms.v2`` classes a recipe's ``[[augment]]`` steps may name (those of this torchvision)."""


@hookimpl
def register_augmentations(register):
    for name in NAMES:  # imported on first use: loading plugins must not import torchvision
        register(name, LazyFactory("torchvision.transforms.v2", name))
