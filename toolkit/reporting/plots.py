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


def picture(image) -> tuple[object, str | None]:
    """A uint8 or [0, 1] float image tensor ``(C, H, W)`` as an array ``imshow`` takes, and its colour map."""
    array = image.detach().cpu().float().numpy()
    if image.dtype.is_floating_point:
        array = array * 255.0
    array = array.clip(0, 255).astype("uint8")
    if array.shape[0] == 1:
        return array[0], "gray"
    return array.transpose(1, 2, 0), None


def retrieval_grid(queries: list[tuple[object, str]], neighbours: list[list[tuple[object, str, float, bool | None]]],
                   path: Path, title: str) -> None:
    """One row per query: the query image, then its neighbours with their distance and label.

    ``queries`` holds ``(image, caption)``; ``neighbours[i]`` holds ``(image, label, distance, correct)``,
    with ``correct`` None where the query's own class is unknown. Wrong neighbours get a red frame and a ✗.
    """
    plt = _pyplot()
    rows = len(queries)
    cols = 1 + max((len(n) for n in neighbours), default=0)
    fig, axes = plt.subplots(rows, cols, figsize=(1.45 * cols, 1.7 * rows), squeeze=False)
    for r, ((image, caption), found) in enumerate(zip(queries, neighbours)):
        ax = axes[r][0]
        pixels, cmap = picture(image)
        ax.imshow(pixels, cmap=cmap, vmin=0, vmax=255)
        ax.set_title(caption, fontsize=7, fontweight="bold")
        for spine in ax.spines.values():
            spine.set_edgecolor("tab:blue")
            spine.set_linewidth(2.5)
        for c in range(1, cols):
            ax = axes[r][c]
            if c > len(found):
                ax.axis("off")
                continue
            image, label, distance, correct = found[c - 1]
            pixels, cmap = picture(image)
            ax.imshow(pixels, cmap=cmap, vmin=0, vmax=255)
            mark = " ✗" if correct is False else ""
            ax.set_title(f"{label}{mark}\nd={distance:.3g}", fontsize=7, color="tab:red" if correct is False else "black")
            if correct is False:
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:red")
                    spine.set_linewidth(2.5)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
