"""Images and datasets: the in-memory dataset types, reading image files, and the transform a run records."""
