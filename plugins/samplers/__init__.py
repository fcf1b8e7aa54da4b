"""Built-in samplers: pairs, triplets, plain batches and class-balanced batches."""

from toolkit.api import hookimpl

from .class_balanced import ClassBalancedSampler
from .pairs import BatchSampler, PairSampler, TripletSampler


@hookimpl
def register_samplers(register):
    register("pairs", PairSampler)
    register("triplets", TripletSampler)
    register("batches", BatchSampler)
    register("class_balanced", ClassBalancedSampler)
