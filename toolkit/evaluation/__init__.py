"""Evaluation after training and during it, and the same/different threshold calibrated on held-out pairs."""
