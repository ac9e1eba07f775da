"""The fairkit command: `fairkit audit` on bundled COMPAS and on a user's chunked CSV."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate

from fairkit.cli import main
from fairkit.datasets._files import bundled_data_dir


def run(argv):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def compas_raw():
    # An independent reading of ProPublica's file and filter (not via fairkit's loader).
    df = pd.read_csv(bundled_data_dir() / "compas" / "compas-scores-two-years.csv.gz")
    keep = (
        df["days_b_screening_arrest"].between(-30, 30)
        & (df["is_recid"] != -1)
        & (df["c_charge_degree"] != "O")
        & (df["score_text"] != "N/A")
    )
    return df[keep]


def test_default_audit_reproduces_propublica_counts_and_rates(compas_raw):
    # every group in the gaps, as in MetricFrame (the default leaves out groups under 30)
    status, text = run(["audit", "--format", "json", "--min-group-size", "1"])
    assert status == 0
    report = json.loads(text)
    race = {g["group"]: g for g in report["attributes"]["race"]["groups"]}
    # ProPublica's filtered file: 6,172 defendants, 3,175 African-American, 2,103 Caucasian
    assert sum(g["n_rows"] for g in race.values()) == 6172
    assert race["African-American"]["n_rows"] == 3175
    assert race["Caucasian"]["n_rows"] == 2103
    y = compas_raw["two_year_recid"]
    pred = compas_raw["score_text"].isin(["Medium", "High"]).astype(int)
    mf = MetricFrame(
        metrics={"fpr": false_positive_rate, "sel": selection_rate},
        y_true=y,
        y_pred=pred,
        sensitive_features=compas_raw["race"],
    )
    for group in ["African-American", "Caucasian", "Hispanic"]:
        assert race[group]["false_positive_rate"] == pytest.approx(mf.by_group.loc[group, "fpr"])
        assert race[group]["selection_rate"] == pytest.approx(mf.by_group.loc[group, "sel"])
    # the well-known COMPAS finding: FPR 0.423 for African-American vs 0.220 for Caucasian
    assert race["African-American"]["false_positive_rate"] == pytest.approx(0.423, abs=5e-4)
    assert race["Caucasian"]["false_positive_rate"] == pytest.approx(0.220, abs=5e-4)
    gaps = report["attributes"]["race"]["gaps"]
    assert gaps["statistical_parity_difference"] == pytest.approx(mf.difference()["sel"])
    assert set(report["attributes"]) == {"race", "sex"}


def test_priv_group_switches_to_aif360_convention(compas_raw):
    status, text = run(["audit", "--format", "json", "--priv-group", "Caucasian",
                        "--min-group-size", "1"])
    assert status == 0
    race = json.loads(text)["attributes"]["race"]
    pred = compas_raw["score_text"].isin(["Medium", "High"])
    white = compas_raw["race"] == "Caucasian"
    expected = pred[~white].mean() - pred[white].mean()
    assert race["privileged_group"] == "Caucasian"
    assert race["gaps"]["statistical_parity_difference"] == pytest.approx(expected)


@pytest.fixture
def user_csv(tmp_path):
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "score": rng.random(n),
            "sex": rng.choice(["f", "m"], n),
            "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    df["decision"] = (df["score"] + 0.1 * (df["sex"] == "m") > 0.5).astype(int)
    path = tmp_path / "preds.csv"
    df.to_csv(path, index=False)
    return path, df


def test_csv_audit_in_chunks_equals_fairlearn(user_csv):
    path, df = user_csv
    args = ["audit", "--csv", str(path), "--target", "label", "--pred", "decision",
            "--prot-attr", "sex", "race", "--intersectional", "--format", "json"]
    status, whole = run(args)
    status_chunked, chunked = run(args + ["--chunksize", "333"])
    assert status == status_chunked == 0
    assert json.loads(whole) == json.loads(chunked)
    report = json.loads(chunked)["attributes"]
    assert set(report) == {"sex", "race", "sex x race"}
    mf = MetricFrame(metrics=selection_rate, y_true=df["label"], y_pred=df["decision"],
                     sensitive_features=df[["sex", "race"]])
    inter = {g["group"]: g["selection_rate"] for g in report["sex x race"]["groups"]}
    for (sex, race), value in mf.by_group.items():
        assert inter[f"{sex}, {race}"] == pytest.approx(value)
    assert report["sex x race"]["gaps"]["statistical_parity_difference"] == pytest.approx(
        mf.difference()
    )


def test_csv_audit_with_scores_and_threshold(user_csv):
    path, df = user_csv
    status, text = run(["audit", "--csv", str(path), "--target", "label", "--pred", "score",
                        "--threshold", "0.5", "--prot-attr", "sex", "--format", "csv"])
    assert status == 0
    table = pd.read_csv(io.StringIO(text))
    rows = table[table["row"] == "group"].set_index("group")
    for sex in ["f", "m"]:
        sel = (df.loc[df["sex"] == sex, "score"] >= 0.5).mean()
        assert rows.loc[sex, "selection_rate"] == pytest.approx(sel)


def test_markdown_and_table_formats_name_every_group(user_csv):
    path, _ = user_csv
    base = ["audit", "--csv", str(path), "--target", "label", "--pred", "decision",
            "--prot-attr", "race"]
    for fmt in ["markdown", "table"]:
        status, text = run(base + ["--format", fmt])
        assert status == 0
        assert all(g in text for g in ["a", "b", "c", "statistical_parity_difference"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--csv", "nope.csv", "--target", "y", "--pred", "p", "--prot-attr", "s"],
         "no such file"),
        (["--target", "label"], "need --csv"),
        (["--csv", "{path}", "--target", "label"], "--csv needs --pred, --prot-attr"),
        (["--csv", "{path}", "--target", "label", "--pred", "decision", "--prot-attr", "age"],
         r"column\(s\) \['age'\] not found"),
    ],
)
def test_bad_input_gives_one_clear_line(user_csv, capsys, extra, message):
    path, _ = user_csv
    argv = ["audit"] + [a.replace("{path}", str(path)) for a in extra]
    status, out = run(argv)
    assert status == 2
    assert out == ""
    err = capsys.readouterr().err
    assert re.search(message, err), err


# ------------------------------------------------------------------------------------------
# fairkit compare
# ------------------------------------------------------------------------------------------
COMPARE_TINY = ["compare", "--dataset", "compas", "--methods", "baseline,reweighing",
                "--grid", "single", "--cv", "2", "--n-jobs", "1", "--quiet"]


def test_compare_end_to_end_on_compas(tmp_path):
    import matplotlib.image as mpimg

    status, text = run(COMPARE_TINY + ["--output", str(tmp_path), "--bound", "1.0"])
    assert status == 0
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    assert list(table["method"]) == ["baseline", "reweighing"]
    metrics = table[["accuracy", "statistical_parity_difference"]].to_numpy()
    assert np.isfinite(metrics).all()
    # COMPAS two-year recidivism: a logistic model is right about two times in three
    assert 0.6 < table.loc[0, "accuracy"] < 0.75
    png = tmp_path / "fairkit-compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpimg.imread(png).shape[2] in (3, 4)
    html = (tmp_path / "fairkit-compare.html").read_text()
    assert "<table" in html and "reweighing" in html and "data:image/png;base64," in html
    assert "Pareto front" in text and "Most accurate within" in text
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".fairkit-compare-*"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--methods", "baseline,magic"], r"unknown method\(s\) \['magic'\]"),
        (["--metric", "happiness"], "--metric 'happiness' is not a group metric"),
        (["--prot-attr", "religion"], "--prot-attr column 'religion' not found"),
        (["--cv", "1"], "--cv must be at least 2"),
    ],
)
def test_compare_bad_input(tmp_path, capsys, extra, message):
    argv = COMPARE_TINY + ["--output", str(tmp_path)] + extra
    if "--methods" in extra:
        argv = [a for a in argv if a != "baseline,reweighing"]
        argv.remove("--methods")
    status, _ = run(argv)
    assert status == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "fairkit-compare.csv").exists()


def test_compare_on_a_dask_scheduler_equals_the_local_run(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    status, _ = run(COMPARE_TINY + ["--output", str(local_dir)])
    assert status == 0
    # worker processes, as a real cluster has: with in-process (thread) workers, a second
    # Client connecting by address tripped distributed's worker state machine (`assert
    # dec_count == 0`, then "already forgotten") in about 1 run of 3; 0 of 8 with processes
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        status, _ = run(COMPARE_TINY + ["--output", str(remote_dir),
                                        "--scheduler", cluster.scheduler_address])
    assert status == 0
    cols = ["method", "params", "accuracy", "statistical_parity_difference"]
    local = pd.read_csv(local_dir / "fairkit-compare.csv")[cols]
    remote = pd.read_csv(remote_dir / "fairkit-compare.csv")[cols]
    pd.testing.assert_frame_equal(local, remote)
