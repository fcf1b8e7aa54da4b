"""Built-in evaluators: k-NN retrieval, k-means clustering and an embedding plot."""

from toolkit import hookimpl

from .embedding_plot import EmbeddingPlot
from .kmeans import KMeansEvaluator
from .knn import KNNEvaluator


@hookimpl
def register_evaluators(register):
    register("knn", KNNEvaluator)
    register("kmeans", KMeansEvaluator)
    register("embedding_plot", EmbeddingPlot)
