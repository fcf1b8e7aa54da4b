"""Built-in datasets: MNIST, Fashion-MNIST, scikit-learn's digits, folders and tables of images."""

from toolkit.api import hookimpl

from .digits import digits
from .image_folder import image_folder
from .image_table import image_table
from .mnist import fashion_mnist, mnist


@hookimpl
def register_datasets(register):
    register("mnist", mnist)
    register("fashion-mnist", fashion_mnist)
    register("digits", digits)
    register("image_folder", image_folder)
    register("image_table", image_table)
