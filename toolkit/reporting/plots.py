"""Plots the runner writes for every run."""

from __future__ import annotations

from pathlib import Path

from toolkit.runfolder.rundir import write_atomic


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend, imported on the first picture: it is slow to import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_curve(epochs: list[int], losses: list[float], path: Path, title: str, ylabel: str = "mean training loss",
               second: tuple[str, list[int], list[float]] | None = None) -> None:
    """A loss per epoch (the mean training loss unless ``ylabel`` says otherwise); ``second`` adds a named series
    (a validation metric) on its own axis at the right."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, losses, marker="o")
    if second is not None and second[1]:
        right = ax.twinx()
        right.plot(second[1], second[2], marker="s", color="tab:orange")
        right.set_ylabel(second[0], color="tab:orange")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def scatter_by_class(points, labels, path: Path, title: str, class_names: list[str] | None = None) -> None:
    """A 2-D scatter, one colour per class, with a legend."""
    plt = _pyplot()
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


def _save(fig, path: Path, dpi: int = 100) -> None:
    plt = _pyplot()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    plt.close(fig)


def pair_distance_histograms(positive: list[float], negative: list[float], threshold: float, path: Path,
                             title: str) -> None:
    """Distances of same-class and different-class pairs, with the calibrated threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    values = list(positive) + list(negative)
    bins = 40 if values else 1
    span = (min(values + [threshold]), max(values + [threshold])) if values else (0.0, 1.0)
    ax.hist(positive, bins=bins, range=span, alpha=0.6, label=f"same class ({len(positive)})", color="tab:green")
    ax.hist(negative, bins=bins, range=span, alpha=0.6, label=f"different class ({len(negative)})", color="tab:red")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set_xlabel("Euclidean distance between the embeddings of a pair")
    ax.set_ylabel("pairs")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
