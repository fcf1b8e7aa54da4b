"""Built-in augmentations: the random image transforms of ``torchvision.transforms.v2``, by their class names."""

from toolkit.api import hookimpl

NAMES = (
    "RandomResizedCrop", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine",
    "RandomPerspective", "ElasticTransform", "ColorJitter", "RandomGrayscale", "RandomInvert", "RandomPosterize",
    "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize", "GaussianBlur", "GaussianNoise",
    "RandAugment", "TrivialAugmentWide", "AugMix", "AutoAugment", "RandomErasing", "RandomChannelPermutation",
)
"""The ``torchvision.transforms.v2`` classes a recipe's ``[[augment]]`` steps may name (those of this torchvision)."""


@hookimpl
def register_augmentations(register):
    from torchvision.transforms import v2

    for name in NAMES:
        if hasattr(v2, name):  # older torchvision releases lack some
            register(name, getattr(v2, name))
