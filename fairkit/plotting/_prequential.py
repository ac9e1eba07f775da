"""Curves of a prequential (test-then-train) run."""

from __future__ import annotations

__all__ = ["plot_prequential"]


def plot_prequential(result, ax=None, *, label=None):
    """Plot cumulative accuracy and demographic parity gap against records seen.

    Parameters
    ----------
    result : PrequentialResult
        What :func:`fairkit.model_selection.prequential_evaluation` returned.
    ax : matplotlib Axes, default=None
        Where to draw (a new figure when None).
    label : str, default=None
        Prefix of the two legend entries.

    Returns
    -------
    matplotlib Axes
        Never calls ``plt.show``.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.0))
    prefix = f"{label}: " if label else ""
    ax.plot(result.n_seen, result.accuracy, label=f"{prefix}accuracy")
    ax.plot(result.n_seen, result.dp_gap, linestyle="--", label=f"{prefix}DP gap")
    ax.set_xlabel("records seen")
    ax.set_ylabel("cumulative value")
    ax.set_title("Prequential (test-then-train) evaluation")
    ax.legend()
    return ax
