"""Built-in datasets: MNIST, Fashion-MNIST and scikit-learn's digits."""

from toolkit import hookimpl

from .digits import digits
from .mnist import fashion_mnist, mnist


@hookimpl
def register_datasets(register):
    register("mnist", mnist)
    register("fashion-mnist", fashion_mnist)
    register("digits", digits)
