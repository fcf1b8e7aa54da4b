"""MNIST and Fashion-MNIST from torchvision's raw IDX layout under a data root."""

from __future__ import annotations

from pathlib import Path

from toolkit.api import data_root, DATA_VARIABLE, Dataset, ImageSet, ToolkitError

from .idx import read_images, read_labels

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _locate(folders: list[Path]) -> dict[str, tuple[Path, Path]] | None:
    for folder in folders:
        found = {split: (_find(folder, images), _find(folder, labels)) for split, (images, labels) in FILES.items()}
        if all(a and b for a, b in found.values()):
            return found  # type: ignore[return-value]
    return None


def _load_idx_dataset(name: str, folder_name: str, torchvision_class: str, *, data_dir: str | None, download: bool,
                      mean: float, std: float, extra_folders: list[Path] = (), class_names: list[str] | None = None) -> Dataset:
    root = data_root(data_dir)
    folders = [root / folder_name / "raw", root / folder_name, root, *extra_folders]
    files = _locate(folders)
    if files is None and download:
        import torchvision

        getattr(torchvision.datasets, torchvision_class)(str(root), train=True, download=True)
        getattr(torchvision.datasets, torchvision_class)(str(root), train=False, download=True)
        files = _locate(folders)
    if files is None:
        debian = (f" On Debian, `apt install dataset-fashion-mnist` puts the files in {DEBIAN_FASHION_MNIST}, "
                  "which is searched automatically." if extra_folders else "")
        raise ToolkitError(
            f"The {name} files were not found. Put train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            f"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (plain or .gz) in {root / folder_name / 'raw'}; "
            f"set dataset.data_dir in the recipe or the {DATA_VARIABLE} environment variable to use another data root, "
            f"or set dataset.download = true to fetch them with torchvision.{debian}"
        )

    def loader(split: str):
        images_path, labels_path = files[split]

        def load() -> ImageSet:
            images, labels = read_images(images_path), read_labels(labels_path)
            if len(images) != len(labels):
                raise ToolkitError(
                    f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; the two "
                    f"files of the {split} split must come from the same release. Replace them with a matching pair."
                )
            return ImageSet(images, labels, mean, std, class_names)

        return load

    return Dataset(name, {split: loader(split) for split in FILES})


IDX_ARGUMENTS = """{summary}

    Args:
        data_dir: data root holding ``{folder}/raw/`` (default: ``$TOOLKIT_DATA``, else ``~/.cache/toolkit/data``{also}).
        download: fetch missing files with torchvision (needs the internet).
        normalize: subtract ``mean`` and divide by ``std`` after scaling pixels to [0, 1].
        mean: normalisation mean.
        std: normalisation standard deviation.
    """


def _documented(summary: str, folder: str, also: str = ""):
    """Give an IDX dataset factory its docstring: the summary, then the arguments both factories share."""

    def document(factory):
        factory.__doc__ = IDX_ARGUMENTS.format(summary=summary, folder=folder, also=also)
        return factory

    return document


@_documented("MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grey.", "MNIST")
def mnist(*, data_dir: str | None = None, download: bool = False, normalize: bool = False,
          mean: float = 0.1307, std: float = 0.3081) -> Dataset:
    return _load_idx_dataset("MNIST", "MNIST", "MNIST", data_dir=data_dir, download=download,
                             mean=mean if normalize else 0.0, std=std if normalize else 1.0,
                             class_names=[str(d) for d in range(10)])


@_documented("Fashion-MNIST clothing images: 60,000 training and 10,000 test images, 28x28 grey.", "FashionMNIST",
             f"; Debian's ``{DEBIAN_FASHION_MNIST}`` is searched too")
def fashion_mnist(*, data_dir: str | None = None, download: bool = False, normalize: bool = False,
                  mean: float = 0.2860, std: float = 0.3530) -> Dataset:
    return _load_idx_dataset("Fashion-MNIST", "FashionMNIST", "FashionMNIST", data_dir=data_dir, download=download,
                             mean=mean if normalize else 0.0, std=std if normalize else 1.0,
                             extra_folders=[DEBIAN_FASHION_MNIST], class_names=FASHION_CLASSES)
