"""Parity plots and learning curves as PNG files (matplotlib, Agg backend)."""

from pathlib import Path

import numpy as np

from hermnet.files import atomic_path
from hermnet.train.run_log import read_metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def parity_plot(predicted, reference, path: Path, title: str, unit: str) -> None:
    plt = _pyplot()
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    reference = np.asarray(reference, dtype=np.float64).ravel()
    error = predicted - reference
    mae = float(np.mean(np.abs(error))) if error.size else float("nan")
    rmse = float(np.sqrt(np.mean(error**2))) if error.size else float("nan")
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    try:
        if reference.size:
            low = float(min(reference.min(), predicted.min()))
            high = float(max(reference.max(), predicted.max()))
            pad = 0.05 * (high - low or 1.0)
            ax.plot([low - pad, high + pad], [low - pad, high + pad], "k--", lw=0.8)
            ax.scatter(reference, predicted, s=4, alpha=0.5, edgecolors="none")
            ax.set_xlim(low - pad, high + pad)
            ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel(f"reference ({unit})")
        ax.set_ylabel(f"predicted ({unit})")
        ax.set_title(f"{title}\nMAE {mae:.4g}, RMSE {rmse:.4g} {unit}", fontsize=9)
        ax.set_aspect("equal")
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)


def learning_curve(csv_path: Path, path: Path) -> None:
    """Train/validation force and energy MAE against epoch, log scale."""
    plt = _pyplot()
    columns = read_metrics(csv_path)
    epochs = columns["epoch"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    try:
        for ax, name, label, unit in (
            (axes[0], "force_mae", "force MAE", "eV/Å"),
            (axes[1], "energy_mae", "energy MAE", "eV/atom"),
        ):
            for prefix, style in (("train", "-"), ("val", "-o")):
                values = np.asarray(columns[f"{prefix}_{name}"], dtype=float)
                if np.isfinite(values).any():
                    ax.plot(epochs, values, style, ms=3, label=prefix)
            if ax.lines and all(np.all(np.asarray(line.get_ydata()) > 0) for line in ax.lines):
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"{label} ({unit})")
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)


def _save(fig, path: Path) -> None:
    # The staged name ends in .tmp, so the format is given rather than guessed from it.
    with atomic_path(path) as staged:
        fig.savefig(staged, format="png")
