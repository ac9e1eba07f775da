"""Scores passed where labels are expected, and a pos_label that never occurs (issue 14,
items 2 and 3): every Python path refuses them instead of returning rates of 0.

Numbers are worked out by hand in the comments; fairlearn's MetricFrame checks the label
paths that must keep working.
"""

import dcor
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from fairlearn.metrics import selection_rate as fl_selection_rate

import fairkit.metrics as fm
from fairkit.metrics import GroupCounts, fairness_report
from fairkit.metrics._labels import check_label_predictions

Y = np.array([1, 0, 1, 0, 1, 0])
SCORES = np.array([0.9, 0.2, 0.7, 0.4, 0.6, 0.1])  # (scores >= 0.5) == Y
SEX = np.array(["M", "M", "M", "F", "F", "F"])

SCORE_ERROR = r"y_pred holds scores, not labels: 6 non-integer value\(s\) between 0\.1 and 0\.9"


@pytest.mark.parametrize("call", [
    lambda: fairness_report(Y, SCORES, sensitive_features=SEX),
    lambda: fairness_report(Y, SCORES, sensitive_features=SEX, n_bootstrap=10),
    lambda: fm.statistical_parity_difference(Y, SCORES, sensitive_features=SEX),
    lambda: fm.equal_opportunity_difference(Y, SCORES, sensitive_features=SEX,
                                            priv_group="M"),
    lambda: fm.false_negative_rate_ratio(Y, SCORES, sensitive_features=SEX),
    lambda: fm.group_counts(Y, SCORES, sensitive_features=SEX),
    lambda: fm.selection_rate(Y, SCORES),
    lambda: fm.selection_rate(Y, SCORES, sensitive_features=SEX),
    lambda: GroupCounts.from_arrays(Y, SCORES, sensitive_features=SEX),
], ids=["report", "report_bootstrap", "spd", "eod_priv", "fnr_ratio", "group_counts",
        "selection_rate", "selection_rate_by_group", "GroupCounts"])
def test_scores_as_predictions_are_refused(call):
    # before: selection rate 0.0 and FNR 1.0 for every group, no error
    with pytest.raises(ValueError, match=SCORE_ERROR + r"; threshold them first, e\.g\. "
                       r"\(y_pred >= 0\.5\)\.astype\(int\)"):
        call()


def test_streamed_score_is_refused():
    counts = GroupCounts.from_arrays([1, 0], [1, 0], sensitive_features=["a", "b"])
    with pytest.raises(ValueError, match=r"y_pred holds scores.*0\.73"):
        counts.update_one("a", 1, 0.73)
    with pytest.raises(ValueError, match="y_pred holds scores"):
        counts.update([1, 0], [0.2, 0.8], sensitive_features=["a", "b"])
    with pytest.raises(ValueError, match="y_pred holds scores"):
        counts.update_one("new", 1, 0.5)
    # a refused row leaves the counts as they were: a (TP 1), b (TN 1), no new group
    assert counts.labels == ["a", "b"]
    np.testing.assert_array_equal(counts.counts, [[[0, 0], [0, 1]], [[1, 0], [0, 0]]])
    assert counts.update_one("a", 1, 1.0).counts[0, 1, 1] == 2  # 1.0 is a label


def test_thresholded_scores_give_the_hand_computed_rates():
    # (SCORES >= .5) == Y: M selects 2/3, F 1/3; all predictions are right
    labels = (SCORES >= 0.5).astype(int)
    report = fairness_report(Y, labels, sensitive_features=SEX,
                             metrics=["selection_rate", "accuracy"])
    assert report.loc["M", "selection_rate"] == pytest.approx(2 / 3)
    assert report.loc["F", "selection_rate"] == pytest.approx(1 / 3)
    assert report.loc["difference", "selection_rate"] == pytest.approx(1 / 3)
    frame = MetricFrame(metrics=fl_selection_rate, y_true=Y, y_pred=labels,
                        sensitive_features=SEX)
    assert report.loc["difference", "selection_rate"] == pytest.approx(frame.difference())


@pytest.mark.parametrize("labels", [
    np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]),                 # floats read from a CSV
    np.array([True, False, True, False, True, False]),
    np.array([1, 0, 1, 0, 1, 0], dtype=object),
    pd.Series([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]),
])
def test_whole_valued_labels_are_accepted(labels):
    pos = True if labels.dtype == bool else 1
    value = fm.statistical_parity_difference(Y, labels, sensitive_features=SEX,
                                             pos_label=pos)
    assert value == pytest.approx(2 / 3 - 1 / 3)  # M 2/3, F 1/3


def test_string_and_multiclass_labels_are_not_scores():
    check_label_predictions(np.array(["0.5", "yes"]))
    check_label_predictions(np.array([0, 1, 2, 3]))
    check_label_predictions(np.array([0.0, 2.0, np.nan]))  # NaN is refused elsewhere
    with pytest.raises(ValueError, match="y_pred holds scores"):
        check_label_predictions(np.array([0.5, 1.0, 0.0], dtype=object))


def test_message_names_the_column_and_takes_a_hint():
    with pytest.raises(ValueError, match=r"^column 'score' holds scores, not labels: 1 "
                       r"non-integer value\(s\) between 0\.25 and 0\.25; pass --threshold\.$"):
        check_label_predictions([0, 1, 0.25], name="column 'score'", hint="pass --threshold")


def test_metrics_that_take_scores_still_take_them():
    # mean score: M (0.9+0.2+0.7)/3 = 0.6, F (0.4+0.6+0.1)/3 = 0.3667
    assert fm.mean_prediction_difference(Y, SCORES, sensitive_features=SEX) == \
        pytest.approx(0.6 - 1.1 / 3)
    assert fm.mean_prediction_ratio(Y, SCORES, sensitive_features=SEX) == \
        pytest.approx((1.1 / 3) / 0.6)
    # dCor is scale-free, so any 0/1 coding of a binary attribute gives dcor's value
    expected = dcor.distance_correlation_sqr(SCORES, (SEX == "M").astype(float))
    assert fm.distance_correlation(Y, SCORES, sensitive_features=SEX) == pytest.approx(expected)


# ------------------------------------------------------------------------------------------
# pos_label in neither y_true nor y_pred (item 3)
# ------------------------------------------------------------------------------------------
YES_NO = np.array(["yes", "no", "yes", "no", "yes", "no"])
PRED_YES_NO = np.array(["yes", "yes", "no", "no", "no", "yes"])
ABSENT = r"pos_label=1 occurs in neither y_true nor y_pred"


@pytest.mark.parametrize("call", [
    lambda: fairness_report(YES_NO, PRED_YES_NO, sensitive_features=SEX),
    lambda: fairness_report(YES_NO, PRED_YES_NO, sensitive_features=SEX, n_bootstrap=5),
    lambda: fm.statistical_parity_difference(YES_NO, PRED_YES_NO, sensitive_features=SEX),
    lambda: fm.accuracy_difference(YES_NO, PRED_YES_NO, sensitive_features=SEX),
    lambda: fm.selection_rate(YES_NO, PRED_YES_NO),
    lambda: fm.selection_rate(YES_NO, PRED_YES_NO, sensitive_features=SEX),
    lambda: GroupCounts.from_arrays(YES_NO, PRED_YES_NO, sensitive_features=SEX)
    .metric("statistical_parity_difference"),
    lambda: GroupCounts.from_arrays(YES_NO, PRED_YES_NO, sensitive_features=SEX)
    .accuracy_difference(priv_group="M"),
    lambda: sum(GroupCounts.from_arrays(YES_NO[i:i + 2], PRED_YES_NO[i:i + 2],
                                        sensitive_features=SEX[i:i + 2])
                for i in (0, 2, 4)).metric("equalized_odds_difference"),
], ids=["report", "report_bootstrap", "spd", "accuracy", "selection_rate",
        "selection_rate_by_group", "GroupCounts", "GroupCounts_method", "merged_chunks"])
def test_default_pos_label_on_string_labels_is_refused(call):
    # before: selection rate 0 everywhere, accuracy 1 (GroupCounts, selection_rate)
    with pytest.raises(ValueError, match=ABSENT):
        call()


def test_pos_label_absent_from_a_stream_is_refused_until_it_appears():
    counts = GroupCounts(np.zeros((0, 2, 2)), [], pos_label=7, pos_label_seen=False)
    counts.update_one("a", 0, 0).update_one("b", 0, 0)
    with pytest.raises(ValueError, match=r"pos_label=7 occurs in neither"):
        counts.statistical_parity_difference()
    counts.update_one("a", 7, 7)  # a: 1 of 2 selected, b: 0 of 1
    assert counts.statistical_parity_difference() == pytest.approx(0.5)


def test_a_model_that_selects_nobody_is_still_measured():
    # pos_label 1 occurs in y_true only: all-zero predictions are a real answer
    none = np.zeros(6, dtype=int)
    assert fm.selection_rate(Y, none) == 0.0
    assert fm.statistical_parity_difference(Y, none, sensitive_features=SEX) == 0.0
    report = fairness_report(Y, none, sensitive_features=SEX, metrics=["false_negative_rate"])
    assert report.loc["M", "false_negative_rate"] == 1.0  # both M positives missed
