"""Plots the runner writes for every run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from toolkit.rundir import write_atomic  # noqa: E402


def loss_curve(epochs: list[int], losses: list[float], path: Path, title: str, ylabel: str = "mean training loss") -> None:
    """A loss per epoch (the mean training loss unless ``ylabel`` says otherwise)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, losses, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def scatter_by_class(points, labels, path: Path, title: str, class_names: list[str] | None = None) -> None:
    """A 2-D scatter, one colour per class, with a legend."""
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
    for c in sorted(set(labels.tolist())):
        mask = labels == c
        name = class_names[c] if class_names and c < len(class_names) else str(c)
        ax.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.7, color=cmap(c % cmap.N), label=name)
    ax.legend(markerscale=3, fontsize=8, loc="best")
    ax.set_title(title)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
