"""The trade-off plot of :func:`fairkit.model_selection._calibrate_lambda.calibrate_lambda`."""

from __future__ import annotations

__all__ = ["plot_lambda_calibration"]


def plot_lambda_calibration(table, *, ax=None, annotate=True):
    """Plot task loss against JSD for a :func:`calibrate_lambda` table.

    Each point is one :math:`\\lambda` (labelled), the elbow pick is circled and the
    ``tolerance`` pick (if the table has one) boxed. Returns the matplotlib Axes (no
    ``plt.show``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.plot(table["jsd"], table["task_loss"], "o-", color="C0")
    if annotate:
        for lam, x, yv in zip(table["lam"], table["jsd"], table["task_loss"], strict=True):
            ax.annotate(f"{lam:g}", (x, yv), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    if "elbow" in table:
        pick = table[table["elbow"]]
        ax.plot(pick["jsd"], pick["task_loss"], "o", ms=12, mfc="none", mec="C3",
                label=f"elbow: lambda = {pick['lam'].iloc[0]:g}")
    if "tolerance_pick" in table:
        pick = table[table["tolerance_pick"]]
        ax.plot(pick["jsd"], pick["task_loss"], "s", ms=12, mfc="none", mec="C2",
                label=f"tolerance rule: lambda = {pick['lam'].iloc[0]:g}")
    if "elbow" in table or "tolerance_pick" in table:
        ax.legend()
    ax.set_xlabel("JSD across protected subgroups")
    ax.set_ylabel("validation task loss")
    ax.set_title("lambda calibration")
    return ax
