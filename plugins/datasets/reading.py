"""What the datasets of image files share: how their files are read, and the description of those parameters."""

from __future__ import annotations

from typing import Annotated, Any, Callable

from pydantic import Field

from toolkit.api import ImageLoading, ImageReader

Size = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)]
"""``[height, width]``, both positive."""
Mean = float | Annotated[list[float], Field(min_length=1)]
"""One mean for every channel, or one per channel."""
Std = Annotated[float, Field(gt=0)] | Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
"""One standard deviation for every channel, or one per channel; above 0."""

READING_ARGS = """
        size: ``[height, width]`` every image is resized to (default: the size a pretrained backbone's weights
            were trained at; without one, keep the size, which all images must then share).
        channels: 1 reads grey-scale, 3 reads RGB.
        normalize: subtract ``mean`` and divide by ``std`` after scaling pixels to [0, 1], in training, evaluation
            and for every image given later (``toolkit embed``, ``compare``, ``search``). Without it, a pretrained
            backbone's own normalisation applies (ImageNet's for torchvision weights).
        mean: normalisation mean: one number, or one per channel (``[0.485, 0.456, 0.406]``).
        std: normalisation standard deviation: one number, or one per channel; above 0.
        on_bad_image: ``error`` stops at the first unreadable or missing image, naming it (and its table row);
            ``skip`` leaves it out with a warning and counts it in ``metrics.json``.
        load: ``cache`` decodes and resizes every image once into a prepared cache (``toolkit prepare``) and
            reads batches from it at memory speed; ``memory`` decodes into memory on every run; ``stream``
            decodes each batch's files with ``workers`` DataLoader workers, nothing kept (for collections that
            change, or read at full size every epoch).
        cache_dir: where prepared caches are kept (default: ``$TOOLKIT_CACHE_DIR/prepared``, else
            ``~/.cache/toolkit/prepared``).
        workers: DataLoader worker processes of ``load = "stream"``.
"""


def with_reading_args(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Add the reading parameters' descriptions to the end of ``factory``'s ``Args:`` section."""
    factory.__doc__ = (factory.__doc__ or "").rstrip() + "\n" + READING_ARGS.strip("\n") + "\n    "
    return factory


def loading(params: dict[str, Any]) -> ImageLoading:
    """The :class:`ImageLoading` of a dataset factory's reading parameters (its ``locals()``)."""
    size = params["size"]
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ValueError(f"size must be [height, width] with positive sides, got {size}")
    as_stat = (lambda v: tuple(float(x) for x in v) if isinstance(v, list) else float(v))
    mean, std = (as_stat(params["mean"]), as_stat(params["std"])) if params["normalize"] else (0.0, 1.0)
    return ImageLoading(ImageReader(channels=params["channels"], size=tuple(size) if size else None), mean, std,
                        params["load"], params["cache_dir"], params["on_bad_image"], params["workers"])
