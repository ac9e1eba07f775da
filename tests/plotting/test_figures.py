import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from fairkit.plotting import plot_group_metrics, plot_pareto_front, plot_sweep


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "method": ["baseline", "reweighing", "reweighing", "threshold"],
            "accuracy": [0.85, 0.84, 0.80, 0.83],
            "spd": [-0.20, -0.10, -0.12, 0.02],
        }
    )


def test_pareto_plot_draws_each_method_and_the_front(table):
    ax = plot_pareto_front(table, x="accuracy", y="spd")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["baseline", "reweighing", "threshold", "Pareto front"]
    front = ax.get_lines()[0]
    # non-dominated on (accuracy max, |spd| min): baseline, reweighing 0.84, threshold
    np.testing.assert_allclose(front.get_xdata(), [0.83, 0.84, 0.85])
    np.testing.assert_allclose(front.get_ydata(), [0.02, 0.10, 0.20])
    assert ax.get_ylabel() == "|spd|"


def test_group_bars_have_one_bar_per_group_and_metric():
    report = pd.DataFrame(
        {"selection_rate": [0.3, 0.5], "tpr": [0.6, 0.7], "count": [10, 20]},
        index=pd.Index(["F", "M"], name="sex"),
    )
    ax = plot_group_metrics(report)  # count is not in [0, 1]: skipped
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == [0.3, 0.5, 0.6, 0.7]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["selection_rate", "tpr"]


def test_sweep_uses_log_axis_for_wide_positive_ranges():
    df = pd.DataFrame({"lam": [0.01, 1, 100], "jsd": [0.1, 0.05, 0.01]})
    ax = plot_sweep(df, param="lam", metrics="jsd")
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.1, 0.05, 0.01])


def test_missing_column_is_named(table):
    with pytest.raises(ValueError, match=r"column\(s\) \['nope'\] not found"):
        plot_pareto_front(table, x="nope", y="spd")
