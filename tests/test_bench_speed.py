"""Smoke test of benchmarks/bench_speed.py (issue 18's side-by-side table).

Tiny sizes, one repeat, no Adult: checks the table's rows and that every ratio is a
positive finite number (no timing assertions: the machine may be shared).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fairlearn")
pytest.importorskip("threadpoolctl")

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("_test_bench_speed_module", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _aif360_available():
    return importlib.util.find_spec("aif360") is not None


@pytest.fixture(scope="module")
def table(bench):
    return bench.build_table(sizes=(2000, 4000), repeats=1, adult=False,
                             aif360=_aif360_available(), small_n=2000,
                             fairttts_rows_timed=200, fairttts_rows_err=50,
                             fairttts_trees=10, verbose=False)


def test_rows_and_ratios(table):
    errors = table[table["check"].str.startswith("ERROR")]
    assert errors.empty, errors["check"].tolist()
    expected = {
        "ThresholdOptimizer fit": 2, "ExponentiatedGradient fit": 2,
        "CorrelationRemover fit+transform": 2, "FairTTTS default predict_proba": 1,
        "group metrics (6) vs MetricFrame": 2, "ThresholdOptimizer predict overhead": 1}
    if _aif360_available():
        expected.update({"PrejudiceRemover fit": 1, "EqualizedOdds predict overhead": 1})
    assert table["method"].value_counts().to_dict() == expected
    for method in ("ThresholdOptimizer fit", "ExponentiatedGradient fit",
                   "CorrelationRemover fit+transform", "group metrics (6) vs MetricFrame"):
        assert sorted(table.loc[table["method"] == method, "n"]) == [2000, 4000]
    ratio = table["ratio"].to_numpy(float)
    assert np.all(np.isfinite(ratio)) and np.all(ratio > 0)
    assert np.all(table["fairkit_s"] > 0) and np.all(table["peer_s"] > 0)
    # each method measured at two sizes gets a finite slope for both libraries
    series = table[table["method"] != "FairTTTS default predict_proba"]
    series = series[series.groupby("method")["n"].transform("nunique") == 2]
    assert len(series) == 8
    assert np.all(np.isfinite(series[["slope_fairkit", "slope_peer"]].to_numpy(float)))
    single = table[~table.index.isin(series.index)]
    assert single[["slope_fairkit", "slope_peer"]].isna().all().all()


def test_checks(table):
    to = table[table["method"] == "ThresholdOptimizer fit"]
    assert (to["check"] == "identical").all()
    cr = table[table["method"] == "CorrelationRemover fit+transform"]
    assert all(float(c.split()[-1]) < 1e-8 for c in cr["check"])
    to_predict = table[table["method"] == "ThresholdOptimizer predict overhead"]
    assert (to_predict["check"] == "identical").all()
    eo = table[table["method"] == "EqualizedOdds predict overhead"]
    assert (eo["check"] == "same predictions through the timing proxy").all()
    ttts = table[table["method"] == "FairTTTS default predict_proba"]["check"].iloc[0]
    assert ttts.startswith("mean err vs tol=0 ")
    assert 0 <= float(ttts.split()[4]) <= 0.05


def test_format_table(bench, table):
    text = bench.format_table(table)
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
        "method", "data", "n", "fairkit", "peer", "peer/fairkit", "slope fairkit",
        "slope peer", "check"]
    assert len(lines) == 2 + len(table)
    assert "fairlearn" in text


def test_overhead_excludes_the_models_own_time(bench):
    # the timing proxy charges the model's CPU time to the model, not to the caller
    import time

    class Busy:
        classes_ = np.array([0, 1])

        def predict(self, X):
            t0 = time.process_time()
            while time.process_time() - t0 < 0.05:
                pass
            return np.zeros(len(X), dtype=int)

    proxy = bench._TimedModel(Busy())
    spent, out = bench._overhead(lambda: proxy.predict(np.ones((3, 1))), proxy)
    assert out.tolist() == [0, 0, 0]
    assert 0 <= spent < 0.02 and proxy.spent >= 0.05
    assert proxy.classes_.tolist() == [0, 1]  # everything else is the model's


def test_failing_part_gives_error_row(bench, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("broken helper")

    monkeypatch.setattr(bench, "metrics_rows", boom)
    out = bench.build_table(sizes=(2000,), repeats=1, adult=False, aif360=False,
                            parts=["metrics"], verbose=False)
    assert len(out) == 1
    assert out["check"].iloc[0] == "ERROR RuntimeError: broken helper"
    assert np.isnan(out["ratio"].iloc[0])


def test_main_prints_table_and_load(bench, capsys):
    bench.main(["--max-rows", "10000", "--repeats", "1", "--skip-adult", "--skip-aif360",
                "--parts", "metrics"])
    out = capsys.readouterr().out
    assert "| group metrics (6) vs MetricFrame | 10,000 rows, 2 groups |" in out
    assert "load average at start" in out and "at end" in out
