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


def test_flags(bench):
    ok = {"unavailable": "", "error": "", "acc": 0.80, "const": False, "spd": 0.10, "eo": 0.2}
    ref = {"spd": 0.20, "eo": 0.2}
    assert bench.flags_for("reweighing", "pre", ok, ref, maj=0.80) == []
    # 0.794 < 0.80 - 0.005; SPD 0.19 is not 10% below 0.20; one predicted class
    bad = dict(ok, acc=0.794, spd=0.19, const=True)
    assert bench.flags_for("reweighing", "pre", bad, ref, maj=0.80) == [
        "BELOW_MAJORITY", "CONSTANT", "NO_MOVE"]
    # the reference's SPD 0.04 is below 0.05: nothing to move; baselines are never NO_MOVE
    assert bench.flags_for("reweighing", "pre", bad, {"spd": 0.04}, maj=0.5) == ["CONSTANT"]
    assert bench.flags_for("baseline", "baseline", dict(ok, spd=0.3), ref, maj=0.5) == []
    # the equalized-odds post-processors are judged on the odds gap
    assert bench.flags_for("equalized_odds", "post", dict(ok, spd=0.3, eo=0.1), ref,
                           maj=0.5) == []
    assert bench.flags_for("x", "pre", dict(ok, error="ValueError: boom"), ref, maj=0.5) == [
        "ERROR"]


def test_runs_one_tiny_configuration(bench, capsys):
    df = bench.main(["--methods", "baseline,reweighing,threshold_optimizer", "--sizes", "500",
                     "--pos-rates", "0.5", "--scales", "raw", "--groups", "2",
                     "--max-rows", "threshold_optimizer=400"])
    out = capsys.readouterr().out
    assert list(df["method"]) == ["baseline", "reweighing", "threshold_optimizer"]
    assert df.loc[2, "flags"] == "SKIPPED" and "max rows 400" in df.loc[2, "note"]
    assert np.isfinite(df.loc[:1, "acc"]).all() and (df["maj"] == 0.5).all()
    assert "Summary" in out and "reweighing" in out
