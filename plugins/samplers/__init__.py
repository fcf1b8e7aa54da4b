"""Built-in samplers: pairs, triplets and plain batches."""

from toolkit import hookimpl

from .pairs import BatchSampler, PairSampler, TripletSampler


@hookimpl
def register_samplers(register):
    register("pairs", PairSampler)
    register("triplets", TripletSampler)
    register("batches", BatchSampler)
