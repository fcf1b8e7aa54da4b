"""Built-in evaluators: retrieval, clustering, verification, triplet and classification accuracy, plots."""

from toolkit.api import hookimpl

from .classification import ClassificationEvaluator
from .embedding_epochs import EmbeddingEpochsEvaluator
from .embedding_plot import EmbeddingPlot
from .kmeans import KMeansEvaluator
from .knn import KNNEvaluator
from .triplet_accuracy import TripletAccuracyEvaluator
from .verification import VerificationEvaluator


@hookimpl
def register_evaluators(register):
    register("knn", KNNEvaluator)
    register("kmeans", KMeansEvaluator)
    register("embedding_plot", EmbeddingPlot)
    register("verification", VerificationEvaluator)
    register("triplet_accuracy", TripletAccuracyEvaluator)
    register("classification", ClassificationEvaluator)
    register("embedding_epochs", EmbeddingEpochsEvaluator)
