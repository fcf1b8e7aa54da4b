"""The run: the runner's flow, one epoch of training, checkpoints, distributed processes, precision and seeds."""
