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


# y/yhat/sex of fairness_report's docstring. By hand: F has y 1100, yhat 1001 -> selection
# 2/4, TPR 1/2, FPR 1/2, accuracy 2/4; M has y 1010, yhat 1000 -> 1/4, 1/2, 0/2, 3/4.
_Y = [1, 1, 0, 0, 1, 0, 1, 0]
_YHAT = [1, 0, 0, 1, 1, 0, 0, 0]
_SEX = ["F", "F", "F", "F", "M", "M", "M", "M"]
_RATES = ["selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]


def _bars_by_group(ax):
    from matplotlib.container import BarContainer

    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    return {c.get_label(): [round(p.get_height(), 6) for p in c.patches] for c in bars}, bars


def test_group_bars_of_a_fairness_report_leave_out_the_gap_rows():
    from fairkit.metrics import fairness_report

    report = fairness_report(_Y, _YHAT, sensitive_features=_SEX, metrics=_RATES)
    ax = plot_group_metrics(report)
    heights, bars = _bars_by_group(ax)
    # difference/ratio are not groups: 2 groups x 4 rates, not 4 "groups" x 4 rates
    assert heights == {"F": [0.5, 0.5, 0.5, 0.5], "M": [0.25, 0.5, 0.0, 0.75]}
    assert len(ax.patches) == 8
    assert [t.get_text() for t in ax.get_xticklabels()] == _RATES
    assert all(c.errorbar is None for c in bars)


def test_group_bars_draw_bootstrap_intervals_as_error_bars():
    from fairkit.metrics import fairness_report

    report = fairness_report(_Y, _YHAT, sensitive_features=_SEX, metrics=_RATES,
                             n_bootstrap=200, random_state=0)
    ax = plot_group_metrics(report)
    heights, bars = _bars_by_group(ax)
    # the _lower/_upper columns are not metrics of their own
    assert [t.get_text() for t in ax.get_xticklabels()] == _RATES
    assert heights == {"F": [0.5, 0.5, 0.5, 0.5], "M": [0.25, 0.5, 0.0, 0.75]}
    assert len(ax.patches) == 8
    for container in bars:
        assert container.errorbar is not None
        segments = container.errorbar.lines[2][0].get_segments()
        assert len(segments) == len(_RATES)
        group = container.get_label()
        for segment, rate in zip(segments, _RATES, strict=True):
            low, high = sorted(segment[:, 1])
            lower = report.loc[group, f"{rate}_lower"]
            upper = report.loc[group, f"{rate}_upper"]
            value = report.loc[group, rate]
            # clipped at the bar when an interval lies on one side of the value
            assert low == pytest.approx(min(lower, value))
            assert high == pytest.approx(max(upper, value))
    # the interval of F's selection rate is a real interval around 1/2, not a point
    f_sel = bars[0].errorbar.lines[2][0].get_segments()[0][:, 1]
    assert min(f_sel) < 0.5 < max(f_sel)


def test_group_bars_keep_a_rate_that_is_undefined_for_one_group():
    # M has no positive predictions, so its precision is NaN; F's is 1/2
    report = pd.DataFrame({"precision": [0.5, np.nan], "n_rows": [4, 4]},
                          index=pd.Index(["F", "M"], name="sex"))
    ax = plot_group_metrics(report)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["precision"]


def test_pareto_plot_gives_thirteen_methods_distinct_colours_and_markers():
    # the default compare run has 13 methods; the axes' colour cycle repeats after 10
    from matplotlib.colors import to_hex

    names = [f"method{k:02d}" for k in range(13)]
    frame = pd.DataFrame({"method": names, "accuracy": np.linspace(0.7, 0.85, 13),
                          "spd": np.linspace(0.3, 0.01, 13)})
    ax = plot_pareto_front(frame, x="accuracy", y="spd")
    points = ax.collections
    assert [c.get_label() for c in points] == names
    colours = [to_hex(c.get_facecolor()[0]) for c in points]
    markers = [(c.get_paths()[0].vertices.round(6).tobytes(),
                None if c.get_paths()[0].codes is None else c.get_paths()[0].codes.tobytes())
               for c in points]
    assert len(set(colours)) == 13
    assert len(set(zip(colours, markers, strict=True))) == 13


def test_group_bars_of_a_metric_frame_draw_its_groups():
    import sklearn.metrics as skm

    from fairkit.metrics import GroupMetricFrame

    # by hand: F has y 1100, yhat 1001 -> accuracy 2/4, MAE 2/4;
    #          M has y 1010, yhat 1000 -> accuracy 3/4, MAE 1/4
    frame = GroupMetricFrame(metrics={"accuracy": skm.accuracy_score,
                                      "mae": skm.mean_absolute_error},
                             y_true=_Y, y_pred=_YHAT, sensitive_features=pd.Series(_SEX,
                                                                                   name="sex"))
    ax = plot_group_metrics(frame)
    heights, bars = _bars_by_group(ax)
    assert heights == {"F": [0.5, 0.5], "M": [0.75, 0.25]}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["accuracy", "mae"]
    assert ax.get_legend().get_title().get_text() == "sex"
    assert all(c.errorbar is None for c in bars)


def test_group_bars_of_a_metric_frame_skip_combinations_without_rows():
    import sklearn.metrics as skm

    from fairkit.metrics import GroupMetricFrame

    # F-b has no rows: no bar. Accuracy by hand: F-a = rows 0-1 (y 1 1, yhat 1 0) 1/2;
    # M-a = rows 4-5 (y 1 0, yhat 1 0) 2/2; M-b = rows 2, 3, 6, 7 (y 0 0 1 0, yhat 0 1 0 0) 2/4
    sex = ["F", "F", "M", "M", "M", "M", "M", "M"]
    race = ["a", "a", "b", "b", "a", "a", "b", "b"]
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=_Y, y_pred=_YHAT,
                             sensitive_features={"sex": sex, "race": race})
    ax = plot_group_metrics(frame)
    heights, _ = _bars_by_group(ax)
    assert heights == {"F, a": [0.5], "M, a": [1.0], "M, b": [0.5]}
    assert ax.get_legend().get_title().get_text() == "sex, race"


def test_group_bars_of_a_bootstrapped_metric_frame_draw_its_outer_quantiles():
    import sklearn.metrics as skm

    from fairkit.metrics import GroupMetricFrame

    rng = np.random.RandomState(0)
    y, yhat = rng.randint(0, 2, 300), rng.randint(0, 2, 300)
    sex = np.where(rng.rand(300) < 0.4, "F", "M")
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=yhat,
                             sensitive_features=sex, n_boot=100,
                             ci_quantiles=[0.05, 0.5, 0.95], random_state=0)
    ax = plot_group_metrics(frame)
    _, bars = _bars_by_group(ax)
    lower, upper = frame.by_group_ci[0], frame.by_group_ci[2]
    for container in bars:
        group = container.get_label()
        low, high = sorted(container.errorbar.lines[2][0].get_segments()[0][:, 1])
        assert low == pytest.approx(min(lower[group], frame.by_group[group]))
        assert high == pytest.approx(max(upper[group], frame.by_group[group]))
        assert low < high
