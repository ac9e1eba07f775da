"""`fairkit compare` on a small CSV: the metric's convention, tiny groups, the bound, reports."""

import io
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from fairkit import metrics as fm
from fairkit.cli import main
from fairkit.model_selection import MethodContext, default_methods


def run(argv):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # groups a (300 rows) and b (250) with different selection rates, and c (20 rows), mostly
    # favourable: in a 2-fold split c has about 10 rows per test fold
    rng = np.random.default_rng(0)
    grp = np.array(["a"] * 300 + ["b"] * 250 + ["c"] * 20)
    x1 = rng.normal(size=len(grp)) + np.select([grp == "b", grp == "c"], [0.8, 1.8], 0.0)
    x2 = rng.normal(size=len(grp))
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.7, size=len(grp)) > 0.4).astype(int)
    # shuffled: unshuffled stratified folds would put every c row in one test fold
    df = pd.DataFrame({"x1": x1, "x2": x2, "grp": grp, "y": y}).sample(frac=1, random_state=1)
    path = tmp_path_factory.mktemp("compare") / "small.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.fixture(scope="module")
def data_ab(data, tmp_path_factory):
    """The same rows without the tiny group c: a bound is tuned inside each training fold
    (nested), where c would leave a threshold optimiser a group with one label."""
    _, df = data
    df = df[df["grp"] != "c"]
    path = tmp_path_factory.mktemp("compare_ab") / "small_ab.csv"
    df.to_csv(path, index=False)
    return path, df


def base_args(path, out, methods="baseline"):
    return ["compare", "--dataset", str(path), "--target", "y", "--prot-attr", "grp",
            "--methods", methods, "--grid", "single", "--cv", "2", "--n-jobs", "1",
            "--quiet", "--output", str(out)]


def baseline_folds(df):
    """Test rows and baseline predictions of each fold, as compare splits them."""
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    ctx = MethodContext("grp", categorical=[], numeric=["x1", "x2"], random_state=0)
    est = default_methods(ctx, ["baseline"])["baseline"][0]
    for train, test in StratifiedKFold(2).split(X, y):
        pred = clone(est).fit(X.iloc[train], y[train]).predict(X.iloc[test])
        yield X.iloc[test], y[test], pred


@pytest.mark.parametrize("metric, fairlearn_rate",
                         [("statistical_parity_difference", selection_rate),
                          ("disparate_impact_ratio", selection_rate),
                          ("equal_opportunity_difference", true_positive_rate)])
def test_priv_group_gives_the_functions_signed_value(data, tmp_path, metric, fairlearn_rate):
    # items 4 and 6: the column is the function of that name with priv_group=, fold by fold
    path, df = data
    status, text = run(base_args(path, tmp_path) + ["--priv-group", "b", "--metric", metric])
    assert status == 0
    row = pd.read_csv(tmp_path / "fairkit-compare.csv").iloc[0]
    by_function, by_fairlearn = [], []
    for X, y, pred in baseline_folds(df):
        func = getattr(fm, metric)
        by_function.append(func(y, pred, sensitive_features=X["grp"], priv_group="b"))
        mf = MetricFrame(metrics=fairlearn_rate, y_true=y, y_pred=pred,
                         sensitive_features=np.where(X["grp"] == "b", "priv", "unpriv"))
        u, p = mf.by_group["unpriv"], mf.by_group["priv"]
        by_fairlearn.append(u / p if metric.endswith("_ratio") else u - p)
    assert row[metric] == pytest.approx(np.mean(by_function), abs=1e-12)
    assert row[metric] == pytest.approx(np.mean(by_fairlearn), abs=1e-12)
    if metric == "statistical_parity_difference":
        # b's x1 is shifted up, so the unprivileged rest is selected less: the sign shows it
        assert row[metric] < -0.1
    assert row["gap_groups"] in ("others pooled - b", "others pooled / b")
    assert "unprivileged" in text and "priv_group='b'" in text


def test_priv_group_not_in_the_data_names_it_and_lists_the_groups(data, tmp_path, capsys):
    path, _ = data
    status, text = run(base_args(path, tmp_path) + ["--priv-group", "z"])
    assert status == 2 and text == ""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--priv-group 'z'" in err and "['a', 'b', 'c']" in err


def _between(folds, keep):
    gaps, pairs = [], []
    for X, y, pred in folds:
        rows = X["grp"].isin(keep).to_numpy()
        mf = MetricFrame(metrics=selection_rate, y_true=y[rows], y_pred=pred[rows],
                         sensitive_features=X["grp"].to_numpy()[rows])
        gaps.append(mf.difference())
        pairs.append(f"highest {mf.by_group.idxmax()}, lowest {mf.by_group.idxmin()}")
    return float(np.mean(gaps)), pairs


def test_min_group_size_keeps_tiny_groups_out_of_the_gap(data, tmp_path):
    # item 5: c (about 10 rows per test fold, all selected) would set the gap on its own
    path, df = data
    folds = list(baseline_folds(df))
    status, text = run(base_args(path, tmp_path / "d"))
    assert status == 0
    row = pd.read_csv(tmp_path / "d" / "fairkit-compare.csv").iloc[0]
    expected, pairs = _between(folds, ["a", "b"])
    assert row["statistical_parity_difference"] == pytest.approx(expected, abs=1e-12)
    assert len(set(pairs)) == 1 and row["gap_groups"] == pairs[0]
    assert "at least 30 rows in a test fold" in text
    assert re.search(r"left out of the gap: 'c' \(20 rows", text)

    status, text = run(base_args(path, tmp_path / "all") + ["--min-group-size", "1"])
    assert status == 0
    row = pd.read_csv(tmp_path / "all" / "fairkit-compare.csv").iloc[0]
    with_c, pairs = _between(folds, ["a", "b", "c"])
    assert row["statistical_parity_difference"] == pytest.approx(with_c, abs=1e-12)
    assert row["gap_groups"] == pairs[0] and pairs[0].startswith("highest c")
    assert with_c > expected + 0.2  # what the tiny group did to the headline


def test_min_group_size_leaving_one_group_is_refused(data, tmp_path, capsys):
    path, _ = data
    status, _ = run(base_args(path, tmp_path) + ["--min-group-size", "140"])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--min-group-size 140" in err
    assert not (tmp_path / "fairkit-compare.csv").exists()


def test_no_candidate_within_the_bound_still_writes_the_report(data_ab, tmp_path):
    # item 8: exit status 1 (documented in --help), every report written and saying so
    from PIL import Image

    path, _ = data_ab
    status, text = run(base_args(path, tmp_path, "baseline,threshold_optimizer")
                       + ["--bound", "0"])
    assert status == 1
    assert "No candidate met the bound" in text
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    assert len(table) == 2 and not table["picked"].any()
    assert "No candidate met the bound" in (tmp_path / "fairkit-compare.html").read_text()
    with Image.open(tmp_path / "fairkit-compare.png") as png:
        assert png.info["Description"].startswith("no candidate within")


def test_a_run_that_fails_while_writing_leaves_no_file_and_keeps_the_old_report(
        data, tmp_path, monkeypatch, capsys):
    # the files are written in a run folder of their own and published by one rename of
    # .fairkit-compare/current: a failure on the last one (the HTML) leaves the previous
    # report as it was
    path, _ = data
    assert run(base_args(path, tmp_path, "baseline"))[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("fairkit-compare*")}
    assert len(before) == 4

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_html", broken)
    capsys.readouterr()
    status, _ = run(base_args(path, tmp_path, "baseline,threshold_optimizer"))
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "could not write the report (disk full); the folder keeps its previous" in err
    after = {p.name: p.read_bytes() for p in tmp_path.glob("fairkit-compare*")}
    assert after == before
    assert not list(tmp_path.glob(".fairkit-compare-*"))


def test_the_pick_is_marked_in_csv_png_and_html(data_ab, tmp_path):
    from PIL import Image

    path, _ = data_ab
    status, text = run(base_args(path, tmp_path, "baseline,threshold_optimizer")
                       + ["--bound", "0.2"])
    assert status == 0
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    ok = table["statistical_parity_difference"].abs() <= 0.2
    assert ok.any() and not ok.all()  # the bound really selects
    best = table[ok]["accuracy"].idxmax()
    assert table["picked"].tolist() == [i == best for i in range(len(table))]
    label = f"picked: {table.loc[best, 'method']} ({table.loc[best, 'params']})"
    with Image.open(tmp_path / "fairkit-compare.png") as png:
        assert png.info["Description"] == label
    html = (tmp_path / "fairkit-compare.html").read_text()
    assert "Most accurate within |statistical_parity_difference| &lt;= 0.2: " \
           f"{table.loc[best, 'method']}" in html
    assert "Most accurate within" in text


def test_a_ratio_bound_is_a_distance_from_parity(data_ab, tmp_path):
    # a ratio's parity is 1: the bound applies to 1 - min(r, 1/r), not to |r|
    path, _ = data_ab
    status, _ = run(base_args(path, tmp_path, "baseline,threshold_optimizer")
                    + ["--metric", "disparate_impact_ratio", "--bound", "0.4"])
    assert status == 0
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    r = table["disparate_impact_ratio"]
    ok = 1 - np.minimum(r, 1 / r) <= 0.4
    assert ok.any() and not ok.all()
    best = table[ok]["accuracy"].idxmax()
    assert table["picked"].tolist() == [i == best for i in range(len(table))]


def test_html_states_definition_label_stage_model_and_fit_time(data, tmp_path):
    path, _ = data
    status, _ = run(base_args(path, tmp_path, "baseline,threshold_optimizer"))
    assert status == 0
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    assert table["stage"].tolist() == ["baseline", "post"]
    assert set(table["base_model"]) == {"logistic regression"}
    assert table["uses_prot_attr"].str.startswith("yes").all()
    assert (table["fit_time_s"] > 0).all() and (table["accuracy_std"] >= 0).all()
    html = (tmp_path / "fairkit-compare.html").read_text()
    for needle in ["difference of selection rates", "highest minus lowest",
                   "<b>Favourable label</b>: 1", "one threshold per group", "fit_time_s",
                   "standard deviation over folds"]:
        assert needle in html, needle


@pytest.mark.parametrize("extra, message", [
    (["--sample", "-100"], "--sample must be a number of rows >= 2, got -100"),
    (["--sample", "0"], "--sample must be a number of rows >= 2, got 0"),
    (["--pos-label", "7"], r"--pos-label 7.0 does not occur in the target"),
    (["--scheduler", "nonsense"], "--scheduler 'nonsense': cannot connect"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler 'tcp://127.0.0.1:1': cannot connect"),
    (["--timeout", "0"], "--timeout must be a number of seconds > 0, got 0"),
    (["--timeout", "5"], "--timeout bounds a run on a dask cluster; it needs --scheduler"),
    (["--tune-cv", "1", "--bound", "0.1"], "--tune-cv must be at least 2, got 1"),
])
def test_bad_input_is_one_line(data, tmp_path, capsys, extra, message):
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    path, _ = data
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        status, text = run(base_args(path, tmp_path) + extra)
    assert status == 2 and text == ""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(re.escape(message) if "(" not in message
                                                    else message, err), err


def _html_table(html, table_id):
    """Header and body rows (cell texts) of the HTML table with that id."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    head = re.findall(r"<th>(.*?)</th>", re.search(r"<thead>.*?</tr>", body, re.S).group(0))
    rows = [re.findall(r"<t[hd]>(.*?)</t[hd]>", tr, re.S)
            for tr in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)]
    return head, rows


@pytest.mark.parametrize("methods, extra, shown, why", [
    ("baseline,threshold_optimizer", [], "baseline",
     "the most accurate candidate on the Pareto front (no --bound given)"),
    ("baseline,threshold_optimizer", ["--bound", "0.2"], "threshold_optimizer",
     "the candidate picked by --bound 0.2"),
    ("baseline,threshold_optimizer", ["--bound", "0"], "baseline",
     "the most accurate candidate on the Pareto front (no candidate met the bound)"),
])
def test_report_gives_the_out_of_fold_group_rates_of_the_picked_model(
        data, data_ab, tmp_path, methods, extra, shown, why):
    # the HTML's per-group table is fairness_report (and fairlearn) on cross_val_predict
    # of the same pipeline with the comparison's folds, computed here independently
    from fairlearn.metrics import false_positive_rate
    from sklearn.model_selection import cross_val_predict

    path, df = data_ab if extra else data
    status, text = run(base_args(path, tmp_path, methods) + extra)
    assert status == (1 if extra == ["--bound", "0"] else 0)
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    if not extra:
        # no bound: the most accurate candidate on the front is the most accurate overall
        assert table.loc[table["accuracy"].idxmax(), "method"] == shown

    X, y = df.drop(columns="y"), df["y"].to_numpy()
    ctx = MethodContext("grp", categorical=[], numeric=["x1", "x2"], pos_label=1,
                        random_state=0)
    est = default_methods(ctx, [shown])[shown][0]
    pred = cross_val_predict(clone(est), X, y, cv=StratifiedKFold(2))
    expected = fm.fairness_report(y, pred, sensitive_features=X["grp"], pos_label=1)
    mf = MetricFrame(metrics={"selection_rate": selection_rate,
                              "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate},
                     y_true=y, y_pred=pred, sensitive_features=X["grp"])

    html = (tmp_path / "fairkit-compare.html").read_text()
    # with --bound each row is the method tuned inside every training fold; its params
    # cell says what each fold picked (here the single default setting)
    params = table.loc[table["method"] == shown, "params"].iloc[0]
    assert params == "default" if not extra else params.startswith("tuned per fold: ")
    assert f"{shown} ({params}), {why}" in html and "cross_val_predict" in html
    head, rows = _html_table(html, "picked-groups")
    assert head[1:3] == ["n_rows", "selection_rate"]
    names = ["a", "b"] if extra else ["a", "b", "c"]
    assert [r[0] for r in rows] == names
    for row in rows:
        cells = dict(zip(head[1:], row[1:], strict=True))
        group = row[0]
        assert int(cells["n_rows"]) == (df["grp"] == group).sum()
        for rate in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            assert cells[rate] == f"{expected.loc[group, rate]:.4f}"
            assert float(cells[rate]) == pytest.approx(mf.by_group.loc[group, rate], abs=5e-5)

    groups = pd.read_csv(tmp_path / "fairkit-compare-groups.csv")
    assert (groups["method"] == shown).all() and groups["grp"].tolist() == names
    np.testing.assert_allclose(groups["selection_rate"],
                               expected.loc[names, "selection_rate"], atol=1e-12)
    assert groups["n_rows"].tolist() == [300, 250, 20][:len(names)]
    assert f"Per-group rates of {shown} ({params})" in text


def test_bound_tunes_each_method_inside_every_training_fold(data_ab, tmp_path):
    # --bound: each row is the method tuned on its training fold alone (nested), so the
    # table's accuracy and gap are held out from the choice; the params cell names each
    # fold's pick, which is the independent tuner's pick on that fold's training rows
    from fairkit.model_selection import BoundTunedClassifierCV

    path, df = data_ab
    argv = base_args(path, tmp_path, "baseline,correlation_remover")
    argv[argv.index("single")] = "default"
    status, text = run(argv + ["--bound", "0.1"])
    table = pd.read_csv(tmp_path / "fairkit-compare.csv")
    row = table[table["method"] == "correlation_remover"].iloc[0]
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    ctx = MethodContext("grp", categorical=[], numeric=["x1", "x2"], random_state=0)
    est = default_methods(ctx, ["correlation_remover"])["correlation_remover"][0]
    picks, accs = [], []
    for train, test in StratifiedKFold(2).split(X, y):
        tuner = BoundTunedClassifierCV(
            est, {"decorrelate__alpha": [0.0, 0.25, 0.5, 0.75, 1.0]}, prot_attr="grp",
            bound=0.1, min_group_size=30, pos_label=1, cv=3, random_state=0)
        tuner.fit(X.iloc[train], y[train])
        alpha = tuner.best_params_["decorrelate__alpha"]
        picks.append(f"alpha={alpha:.4g}" + ("" if tuner.bound_met_ else " (bound not met)"))
        accs.append(np.mean(tuner.predict(X.iloc[test]) == y[test]))
    assert row["params"] == "tuned per fold: " + " | ".join(picks)
    assert row["accuracy"] == pytest.approx(np.mean(accs), abs=1e-12)
    assert "held-out |statistical_parity_difference| on all out-of-fold predictions" in text
    # the majority-class floor: every candidate here clears it, and the column says so
    majority = np.mean([np.mean(y[test] == np.bincount(y[train]).argmax())
                        for train, test in StratifiedKFold(2).split(X, y)])
    assert (table["accuracy"] > majority).all() and not table["below_majority"].any()
    assert status in (0, 1)


def test_a_candidate_below_the_majority_class_is_flagged(data, tmp_path, monkeypatch):
    # a registered method that always predicts the minority class must be flagged in the
    # table (column below_majority) and in a note, never ranked silently
    from sklearn.dummy import DummyClassifier

    from fairkit.model_selection import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    path, df = data
    y = df["y"].to_numpy()
    minority = int(np.bincount(y).argmin())
    registry.register_method(
        "always_minority", lambda ctx: DummyClassifier(strategy="constant",
                                                       constant=minority),
        stage="baseline", description="test stand-in")
    status, text = run(base_args(path, tmp_path, "baseline,always_minority"))
    assert status == 0
    table = pd.read_csv(tmp_path / "fairkit-compare.csv").set_index("method")
    majority = np.mean([np.mean(y[test] == np.bincount(y[train]).argmax())
                        for train, test in StratifiedKFold(2).split(df, y)])
    assert table.loc["always_minority", "accuracy"] == pytest.approx(1 - majority)
    assert table.loc["always_minority", "below_majority"]
    assert not table.loc["baseline", "below_majority"]
    assert (f"below the majority class: 1 candidate(s) are less accurate than predicting "
            f"the majority class for every row ({majority:.4f})") in text
