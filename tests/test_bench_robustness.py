"""The robustness benchmark (benchmarks/bench_robustness.py) still runs, on one tiny config."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_robustness.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_robustness", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_shares_rates_and_scales(bench):
    X, y = bench.make_biased(1000, groups="4s", pos_rate=0.2, scale="raw", seed=3)
    counts = X["group"].value_counts()
    # 4s: the last group holds 5% = 50 rows, the other three share 950 (317, 317, 316 + 1)
    assert counts["g3"] == 50
    assert counts.sum() == 1000 and sorted(counts[["g0", "g1", "g2"]]) == [316, 316, 318]
    assert y.sum() == 200  # the top 20% of a continuous score
    rates = y.astype(float)
    by = {g: rates[(X["group"] == g).to_numpy()].mean() for g in ["g0", "g3"]}
    assert by["g0"] > by["g3"] + 0.05  # 0.28 vs 0.18 for this seed
    assert X["income"].median() > 1e3 and abs(X["ratio"]).max() < 1e-1  # raw scales differ
    Xs, ys = bench.make_biased(1000, groups="4s", pos_rate=0.2, scale="standardised", seed=3)
    np.testing.assert_array_equal(ys, y)
    np.testing.assert_allclose(Xs[bench.NUMERIC].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(Xs[bench.NUMERIC].std(), 1, atol=1e-12)
    with pytest.raises(ValueError, match="groups must be 2 to 6.*'7'"):
        bench.group_shares("7")
    with pytest.raises(ValueError, match="scale must be.*'minmax'"):
        bench.make_biased(100, scale="minmax")


def test_disparities_match_fairlearn(bench):
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    groups = rng.choice(["a", "b", "c"], 300)
    spd, eo = bench.disparities(y, pred, groups)

    def spread(metric):
        return MetricFrame(metrics=metric, y_true=y, y_pred=pred,
                           sensitive_features=groups).difference()

    assert spd == pytest.approx(spread(selection_rate))
    assert eo == pytest.approx(max(spread(true_positive_rate), spread(false_positive_rate)))
    # a group below min_group test rows is left out: the gaps are those of a and b alone
    small = np.where(groups == "c", "tiny", groups)
    small[np.flatnonzero(small == "tiny")[10:]] = "a"
    keep = small != "tiny"
    spd_ab, eo_ab = bench.disparities(y, pred, small, min_group=30)
    mf = MetricFrame(metrics={"s": selection_rate, "t": true_positive_rate,
                              "f": false_positive_rate}, y_true=y[keep], y_pred=pred[keep],
                     sensitive_features=small[keep]).difference()
    assert spd_ab == pytest.approx(mf["s"])
    assert eo_ab == pytest.approx(max(mf["t"], mf["f"]))
    assert np.isnan(bench.disparities(y, pred, groups, min_group=1000)[0])


def test_move_verdict_rule(bench):
    # moved: the whole 90% interval above a 10% reduction; NO_MOVE: all of it below
    assert bench.move_verdict(0.12, 0.60) == "moved"
    assert bench.move_verdict(-0.50, 0.09) == "NO_MOVE"
    assert bench.move_verdict(-1.53, 0.09) == "NO_MOVE"  # a rise is no move either
    # straddling 10% (either side of the point estimate): too few rows to tell
    assert bench.move_verdict(-0.49, 0.53) == "UNCLEAR"
    assert bench.move_verdict(0.10, 0.40) == "UNCLEAR"  # lo must exceed 10%
    assert bench.move_verdict(0.02, 0.10) == "UNCLEAR"  # hi must be below 10%
    assert bench.move_verdict(float("nan"), float("nan")) == ""
    assert bench.move_verdict(0.25, 0.40, rel=0.30) == "UNCLEAR"


def test_flags(bench):
    ok = {"unavailable": "", "error": "", "acc": 0.80, "const": False, "n_C": 0, "n_A": 0}
    assert bench.flags_for("reweighing", "pre", ok, maj=0.80, lo=0.2, hi=0.6) == []
    # acc - maj = -0.006 whose interval ends below 0 (maj_hi -0.001); one predicted class
    # and no ConstantFitWarning; the interval [-0.3, 0.05] excludes a 10% reduction
    bad = dict(ok, acc=0.794, const=True)
    assert bench.flags_for("reweighing", "pre", bad, maj=0.80, lo=-0.3, hi=0.05,
                           maj_hi=-0.001) == ["BELOW_MAJORITY", "SILENT_CONSTANT", "NO_MOVE"]
    # the same deficit with an interval reaching 0 is noise, not a flag
    assert bench.flags_for("reweighing", "pre", dict(ok, acc=0.794), maj=0.80,
                           maj_hi=0.01) == []
    # with a ConstantFitWarning the constant fit is reported, not silent
    assert bench.flags_for("reweighing", "pre", dict(bad, n_C=1), maj=0.5) == ["CONSTANT"]
    # a method that warned it cannot act (a group left out, a cost it cannot reach): a
    # no-op, but not a silent one
    assert bench.flags_for("calibrated_equalized_odds", "post", dict(ok, n_A=2), maj=0.5,
                           lo=-0.21, hi=0.06) == ["NO_MOVE_WARNED"]
    # UNCLEAR is not a flag; no interval (nothing to move) gives no verdict
    assert bench.flags_for("reweighing", "pre", ok, maj=0.5, lo=-0.2, hi=0.4) == []
    assert bench.flags_for("reweighing", "pre", ok, maj=0.5) == []
    # baselines get no move verdict, but a silent constant baseline is flagged
    assert bench.flags_for("baseline", "baseline", dict(ok, const=True), maj=0.5, lo=-1,
                           hi=-1) == ["SILENT_CONSTANT"]
    assert bench.flags_for("x", "pre", dict(ok, error="ValueError: boom"), maj=0.5) == [
        "ERROR"]


def _deficit_case(n_wrong_neg, n_right_pos):
    """500 rows, 25 positives (majority class 0, maj = 0.95); ``n_wrong_neg`` negatives
    predicted 1 (d = -1), ``n_right_pos`` positives predicted 1 (d = +1), the rest d = 0."""
    y = np.r_[np.zeros(475, int), np.ones(25, int)]
    pred = np.zeros(500, int)
    pred[:n_wrong_neg] = 1
    pred[475:475 + n_right_pos] = 1
    return y, pred


def test_majority_deficit_by_hand(bench):
    # 13 rows d = -1, 10 rows d = +1: acc = (462 + 10) / 500 = 0.944, acc - maj = -3/500;
    # var(d) = 23/500 - 0.006^2 = 0.045964, se = sqrt(0.045964 / 500) = 0.009588, so the
    # 90% interval is about -0.006 -+ 1.645 * 0.009588 = [-0.0218, +0.0098]: noise
    y, pred = _deficit_case(13, 10)
    diff, lo, hi = bench.majority_deficit(y, pred, n_boot=4000, seed=1)
    assert diff == pytest.approx(-0.006)
    assert np.mean(pred == y) - 0.95 == pytest.approx(diff)
    assert lo == pytest.approx(-0.0218, abs=0.003) and hi == pytest.approx(0.0098, abs=0.003)
    assert bench.majority_verdict(diff, hi) == "noise"
    # 30 rows d = -1, none +1: acc - maj = -0.06, var(d) = 0.06 - 0.0036 = 0.0564,
    # se = 0.010621, upper limit about -0.06 + 1.645 * 0.010621 = -0.0425: significant
    y, pred = _deficit_case(30, 0)
    diff, lo, hi = bench.majority_deficit(y, pred, n_boot=4000, seed=1)
    assert diff == pytest.approx(-0.06)
    assert hi == pytest.approx(-0.0425, abs=0.003) and lo == pytest.approx(-0.0775, abs=0.003)
    assert bench.majority_verdict(diff, hi) == "BELOW"
    # the majority-class predictor itself: d = 0 on every row, interval [0, 0], no verdict
    y, pred = _deficit_case(0, 0)
    assert bench.majority_deficit(y, pred, n_boot=200) == (0.0, 0.0, 0.0)
    assert bench.majority_verdict(0.0, 0.0) == ""
    # above the majority class: no verdict whatever the interval
    assert bench.majority_verdict(0.01, 0.03) == ""
    assert bench.majority_verdict(float("nan"), float("nan")) == ""


def test_privileged_group_is_the_highest_training_rate(bench):
    # a: 40 rows, rate 0.5; b: 60 rows, rate 0.3; c: 10 rows, rate 0.9
    groups = np.array(["a"] * 40 + ["b"] * 60 + ["c"] * 10)
    y = np.r_[np.ones(20), np.zeros(20), np.ones(18), np.zeros(42), np.ones(9), np.zeros(1)]
    assert bench.privileged_group(groups, y, min_group=30) == "a"  # c is too small to rank
    assert bench.privileged_group(groups, y, min_group=5) == "c"
    assert bench.privileged_group(groups, y, min_group=100) == "c"  # none big enough: all
    # favourable label 0: b's rate 0.7 is the highest
    assert bench.privileged_group(groups, y, pos_label=0, min_group=30) == "b"
    # a tie in rate (b at 0.5 too) goes to the larger group
    y_tie = np.r_[y[:40], np.ones(30), np.zeros(30), y[100:]]
    assert bench.privileged_group(groups, y_tie, min_group=30) == "b"
    # on the generator, g0 has the highest base rate although the groups' shares are equal
    X, yy = bench.make_biased(2000, groups="4", pos_rate=0.2, seed=0)
    assert bench.privileged_group(X["group"], yy) == "g0"


def test_move_point_estimate_by_hand(bench):
    # two groups of 10 rows; reference selection rates 0.6 and 0.2 (gap 0.4), method 0.5
    # and 0.3 (gap 0.2): the method halves the gap, move = 1 - 0.2 / 0.4 = 0.5
    groups = np.repeat(["a", "b"], 10)
    y = np.tile([1, 0], 10)
    ref = np.r_[np.ones(6), np.zeros(4), np.ones(2), np.zeros(8)]
    meth = np.r_[np.ones(5), np.zeros(5), np.ones(3), np.zeros(7)]
    move, lo, hi = bench.bootstrap_move("spd", y, meth, ref, groups, n_boot=200)
    assert move == pytest.approx(0.5)
    assert lo <= move <= hi
    # the method's predictions equal the reference's: every resample moves 0 -> NO_MOVE
    move, lo, hi = bench.bootstrap_move("spd", y, ref, ref, groups, n_boot=200)
    assert (move, lo, hi) == (0.0, 0.0, 0.0)
    assert bench.move_verdict(lo, hi) == "NO_MOVE"
    # equal selection rates in every group (each group all favourable): every resample's
    # gap is 0, so every move is 1
    move, lo, hi = bench.bootstrap_move("spd", y, np.ones(20), ref, groups, n_boot=200)
    assert (move, lo, hi) == (1.0, 1.0, 1.0)
    # a group below min_group is left out: with one group left nothing is defined
    assert np.isnan(bench.bootstrap_move("spd", y, meth, ref, groups, min_group=11)[0])


def test_batched_gaps_equal_the_point_gaps(bench):
    rng = np.random.default_rng(1)
    n = 400
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.4, 0.1])
    y = rng.integers(0, 2, n)
    pred = rng.integers(0, 2, n)
    proba = rng.random(n)
    rows = bench.kept_groups(groups, 1)
    ident = {g: r[None, :] for g, r in rows.items()}
    spd, eo = bench.disparities(y, pred, groups)
    assert bench.batched_gaps("spd", y, pred, groups, ident)[0] == pytest.approx(spd)
    assert bench.batched_gaps("eo", y, pred, groups, ident)[0] == pytest.approx(eo)
    assert bench.batched_gaps("gcost", y, proba, groups, ident)[0] == pytest.approx(
        bench.weighted_cost_gap(y, proba, groups))
    # the weighted cost by hand for one group: mu = 0.5, mean proba on y=0 is 0.2, mean
    # 1 - proba on y=1 is 0.4 -> 0.5 * (0.5 * 0.2 + 0.5 * 0.4) = 0.15; the other group
    # (all y=0, proba 0.1) -> 0.5 * 0.1 = 0.05; gap 0.10
    g2 = np.array(["a"] * 4 + ["b"] * 2)
    y2 = np.array([0, 0, 1, 1, 0, 0])
    p2 = np.array([0.1, 0.3, 0.7, 0.5, 0.1, 0.1])
    assert bench.weighted_cost_gap(y2, p2, g2) == pytest.approx(0.10)


def test_bootstrap_interval_matches_the_binomial_standard_error(bench):
    # group a: every row favourable for both (rate 1 in every resample); group b: the
    # reference gives no row the favourable label (rate 0), the method gives it to 300 of
    # 1,000 rows. The reference's gap is 1 in every resample, the method's 1 - r with r the
    # resampled share of raised b rows, so move = r: mean 0.3, sd sqrt(0.3 * 0.7 / 1000)
    # = 0.01449, and the 90% interval is 0.3 -+ 1.645 * 0.01449 = [0.2762, 0.3238].
    n = 1000
    groups = np.repeat(["a", "b"], n)
    y = np.tile([0, 1], n)
    ref = np.r_[np.ones(n), np.zeros(n)]
    meth = np.r_[np.ones(n), np.arange(n) < 300].astype(int)
    move, lo, hi = bench.bootstrap_move("spd", y, meth, ref, groups, n_boot=4000, seed=3)
    assert move == pytest.approx(0.3)
    assert lo == pytest.approx(0.2762, abs=0.004) and hi == pytest.approx(0.3238, abs=0.004)


def test_no_verdict_unless_the_reference_gap_is_significantly_above_the_floor(bench):
    # two groups of 100 rows. Reference selection rates 0.50 and 0.44: gap 0.06 > 0.02,
    # but its sd is sqrt(0.5 * 0.5 / 100 + 0.44 * 0.56 / 100) = 0.0705, so its 5% quantile
    # (about 0.06 - 1.645 * 0.0705 < 0) is not above 0.02: no verdict, and the reason
    groups = np.repeat(["a", "b"], 100)
    y = np.tile([0, 1], 100)
    ref = np.r_[np.arange(100) < 50, np.arange(100) < 44].astype(int)
    r = {"pred": ref.copy(), "proba": None}
    refd = {"pred": ref, "proba": None, "spd": 0.06}
    move, lo, hi, why = bench.move_of("reweighing", r, refd, y, groups, n_boot=500)
    assert move == pytest.approx(0.0) and np.isnan(lo) and np.isnan(hi)
    assert "not significantly above 0.02" in why
    # rates 0.9 and 0.1: gap 0.8, sd 0.042, far above 0.02 -> a verdict (here NO_MOVE)
    ref = np.r_[np.arange(100) < 90, np.arange(100) < 10].astype(int)
    refd = {"pred": ref, "proba": None, "spd": 0.8}
    move, lo, hi, why = bench.move_of("reweighing", {"pred": ref, "proba": None}, refd, y,
                                      groups, n_boot=500)
    assert (move, lo, hi, why) == (0.0, 0.0, 0.0, "")
    # a point gap at or below the floor: nothing to move; the reject option's floor is its
    # own default bound |SPD| <= 0.05
    assert bench.move_of("reweighing", r, dict(refd, spd=0.02), y, groups)[3] == (
        "reference gap <= 0.02")
    assert bench.move_of("reject_option", r, dict(refd, spd=0.05), y, groups)[3] == (
        "reference gap <= 0.05")


def test_bias_corrected_levels(bench):
    # draws centred on the observed value: z0 = 0, the plain 5% and 95% levels
    draws = np.linspace(-1, 1, 2001)
    np.testing.assert_allclose(bench.bias_corrected_levels(draws, 0.0), [0.05, 0.95],
                               atol=1e-9)
    # 8,414 of 10,000 draws below the observed value: z0 = Phi^-1(0.8414) = 1.0003, levels
    # Phi(2.0006 - 1.6449) = Phi(0.3557) = 0.6390 and Phi(3.6455) = 0.99987
    draws = np.arange(10_000) / 10_000
    lo, hi = bench.bias_corrected_levels(draws, 0.84135)
    assert lo == pytest.approx(0.6390, abs=5e-4) and hi == pytest.approx(0.99987, abs=2e-5)


def test_evaluation_splits(bench):
    X, y = bench.make_biased(500, groups="4s", pos_rate=0.2, seed=0)
    splits = bench.evaluation_splits(X, y, cv_below=2000)
    assert len(splits) == 5
    held = np.sort(np.concatenate([te for _, te in splits]))
    np.testing.assert_array_equal(held, np.arange(500))  # every row held out once
    for tr, te in splits:
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 500
    (tr, te), = bench.evaluation_splits(X, y, cv_below=400)
    assert len(te) == 150 and y[te].sum() == 30  # stratified 30%


def test_runs_one_tiny_configuration(bench, capsys):
    df = bench.main(["--methods", "baseline,reweighing,threshold_optimizer", "--sizes", "500",
                     "--pos-rates", "0.5", "--scales", "raw", "--groups", "2",
                     "--max-rows", "threshold_optimizer=400", "--boot", "100"])
    out = capsys.readouterr().out
    assert list(df["method"]) == ["baseline", "reweighing", "threshold_optimizer"]
    assert df.loc[2, "flags"] == "SKIPPED" and "max rows 400" in df.loc[2, "note"]
    assert np.isfinite(df.loc[:1, "acc"]).all() and (df["maj"] == 0.5).all()
    assert (df["evaluation"] == "cv5").all() and (df["n_eval"] == 500).all()
    # reweighing's move is judged on SPD with an interval around the point estimate
    rw = df.loc[1]
    assert rw["target"] == "spd" and rw["move_lo"] <= rw["move"] <= rw["move_hi"]
    assert rw["move"] == pytest.approx(1 - rw["spd"] / rw["spd_ref"])
    assert "Summary" in out and "reweighing" in out and "move(spd)" in out
    # the privileged group is the highest-rate one in every fold; acc - maj is recorded
    assert (df["priv"] == "g0").all() and "priv=g0" in out
    np.testing.assert_allclose(df.loc[:1, "maj_diff"], df.loc[:1, "acc"] - 0.5)
