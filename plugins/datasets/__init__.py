"""Built-in datasets: MNIST, Fashion-MNIST, scikit-learn's digits and folders of images."""

from toolkit.api import hookimpl

from .digits import digits
from .image_folder import image_folder
from .mnist import fashion_mnist, mnist


@hookimpl
def register_datasets(register):
    register("mnist", mnist)
    register("fashion-mnist", fashion_mnist)
    register("digits", digits)
    register("image_folder", image_folder)
