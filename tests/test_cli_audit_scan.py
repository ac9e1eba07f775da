"""`fairkit audit --scan`: the MDSS bias scan of a chunked file (issue 20).

The scan counts, per distinct (attribute values, predicted probability), the rows and the
positive outcomes over the chunks of the file; its subgroup and score must equal
``bias_scan`` (and AIF360's ``bias_scan``) on the whole file read in memory, at every
chunk size, and the subgroup's size and rates must equal pandas' counts on that subgroup.
"""

import io
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from fairkit.cli import main
from fairkit.metrics.mdss import bias_scan, bias_scan_counts

SMALL = ["--min-group-size", "1", "--n-bootstrap", "0"]


def run(argv, capsys):
    out = io.StringIO()
    status = main(["audit", *argv], out=out)
    return status, out.getvalue(), capsys.readouterr().err


def scan_json(argv, capsys):
    status, out, err = run([*argv, "--format", "json", *SMALL], capsys)
    assert status == 0, err
    return json.loads(out)["bias_scan"]


def refused(capsys, argv, pattern):
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(pattern, err), err


def planted(n, seed, *, base=0.3, shift=0.4, decimals=2):
    """Outcomes in the planted subgroup (a in {a, b} and c = u) below the prediction."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.choice(list("abcd"), n),
            "b": rng.integers(0, 5, n),
            "c": rng.choice(["u", "v", "w"], n, p=[0.2, 0.5, 0.3]),
            "age": rng.integers(18, 80, n),
        }
    )
    p = np.round(np.clip(rng.beta(2, 2 / base - 2, n), 0.01, 0.99), decimals)
    y = (rng.uniform(size=n) < p).astype(int)
    bias = (frame["a"].isin(["a", "b"]) & (frame["c"] == "u")).to_numpy()
    y[bias] = (rng.uniform(size=bias.sum()) < p[bias] * shift).astype(int)
    frame["score"], frame["y"] = p, y
    frame["yhat"] = (p >= 0.5).astype(int)
    return frame


def scored(path, *attrs):
    """The audit of ``path``'s scores (threshold 0.5) against ``y`` by ``attrs``."""
    return [
        "--csv",
        path,
        "--target",
        "y",
        "--pred",
        "score",
        "--threshold",
        "0.5",
        "--prot-attr",
        *attrs,
    ]


def write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def expected(X, y, p, direction, **kwargs):
    return bias_scan(X, y, p, overpredicted=direction == "over", random_state=0, **kwargs)


def check_result(result, X, y, p, direction, **kwargs):
    subgroup, score = expected(X, y, p, direction, **kwargs)
    assert result["subgroup"] == subgroup
    assert result["score"] == score
    keep = np.ones(len(X), dtype=bool)
    for col, values in subgroup.items():
        keep &= X[col].isin(values).to_numpy()
    assert result["n_rows"] == keep.sum()
    assert result["n_positive"] == y[keep].sum()
    assert result["observed_rate"] == pytest.approx(y[keep].mean(), abs=1e-12)
    assert result["expected_rate"] == pytest.approx(p[keep].mean(), abs=1e-12)


# ------------------------------------------------------------------------------------------
# equal to bias_scan on the whole file, at every chunk size
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, seed, base", [(500, 0, 0.3), (2000, 1, 0.1), (5000, 2, 0.5)])
def test_scores_scan_equals_bias_scan_on_the_whole_file(tmp_path, capsys, n, seed, base):
    # 500 and 2000 rows (base rate 0.1): too few planted positives for the scan to tell the
    # planted subgroup from noise; 5000 rows: it finds exactly the planted one
    frame = planted(n, seed, base=base)
    path = write(tmp_path, frame)
    whole = pd.read_csv(path)
    X, y, p = whole[["a", "b", "c"]], whole["y"].to_numpy(), whole["score"].to_numpy()
    first = None
    for size in [n // 7 + 1, n // 2, None]:
        extra = [] if size is None else ["--chunksize", str(size)]
        scan = scan_json(
            [
                *scored(path, "a", "b", "c"),
                "--scan",
                *extra,
            ],
            capsys,
        )
        assert [r["direction"] for r in scan["results"]] == ["over", "under"]
        for r in scan["results"]:
            check_result(r, X, y, p, r["direction"], penalty=1e-6)
        first = first or scan
        assert scan == first
    over = first["results"][0]
    assert over["observed_rate"] < over["expected_rate"]
    if n == 5000:  # the planted subgroup (its rate 0.4 times the prediction)
        assert over["subgroup"] == {"a": ["a", "b"], "c": ["u"]}
        assert over["observed_rate"] == pytest.approx(0.4 * over["expected_rate"], rel=0.15)


def test_decisions_scan_and_binned_attribute(tmp_path, capsys):
    frame = planted(3000, 4)
    path = write(tmp_path, frame)
    whole = pd.read_csv(path)
    # Binned's labels, written out independently of fairkit
    age = np.select([whole["age"] < 30, whole["age"] < 50], ["<30", "[30, 50)"], ">=50")
    X = pd.DataFrame({"a": whole["a"], "age": age})
    y, p = whole["y"].to_numpy(), whole["yhat"].to_numpy().astype(float)
    for size in ["1000", "3000"]:
        scan = scan_json(
            [
                "--csv",
                path,
                "--target",
                "y",
                "--pred",
                "yhat",
                "--prot-attr",
                "a",
                "--scan",
                "--scan-attrs",
                "a",
                "age",
                "--bin",
                "age=30,50",
                "--chunksize",
                size,
            ],
            capsys,
        )
        assert scan["attributes"] == ["a", "age"]
        for r in scan["results"]:
            check_result(r, X, y, p, r["direction"], penalty=1e-6)


@pytest.mark.parametrize("direction", ["over", "under"])
def test_one_direction_and_options_reach_the_scan(tmp_path, capsys, direction):
    frame = planted(1500, 5)
    path = write(tmp_path, frame)
    whole = pd.read_csv(path)
    X, y, p = whole[["a", "c"]], whole["y"].to_numpy(), whole["score"].to_numpy()
    scan = scan_json(
        [
            *scored(path, "a", "c"),
            "--scan",
            "--scan-direction",
            direction,
            "--scan-penalty",
            "0.5",
            "--scan-iters",
            "3",
            "--random-state",
            "7",
            "--chunksize",
            "400",
        ],
        capsys,
    )
    (r,) = scan["results"]
    subgroup, score = bias_scan(
        X, y, p, overpredicted=direction == "over", penalty=0.5, num_iters=3, random_state=7
    )
    assert (r["direction"], r["subgroup"], r["score"]) == (direction, subgroup, score)


def test_cli_equals_aif360(tmp_path, capsys):
    aif_mdss = pytest.importorskip("aif360.detectors.mdss_detector")
    frame = planted(2000, 6)
    path = write(tmp_path, frame)
    whole = pd.read_csv(path)
    X = whole[["a", "b", "c"]]
    scan = scan_json(
        [
            *scored(path, "a", "b", "c"),
            "--scan",
            "--chunksize",
            "300",
        ],
        capsys,
    )
    for r in scan["results"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            subgroup, score = aif_mdss.bias_scan(
                X,
                whole["y"],
                whole["score"].astype(float),
                overpredicted=r["direction"] == "over",
                penalty=1e-6,
            )
        assert r["subgroup"] == subgroup
        assert r["score"] == pytest.approx(float(score), abs=1e-9)


def test_rounded_scores_equal_the_scan_of_rounded_scores(tmp_path, capsys):
    frame = planted(600, 7, decimals=6)
    path = write(tmp_path, frame)
    whole = pd.read_csv(path)
    X, y = whole[["a", "c"]], whole["y"].to_numpy()
    scan = scan_json(
        [
            *scored(path, "a", "c"),
            "--scan",
            "--scan-round",
            "2",
            "--chunksize",
            "100",
        ],
        capsys,
    )
    assert scan["score_decimals"] == 2
    assert "scores rounded to 2 decimals" in scan["definition"]
    assert scan["n_scores"] == len(np.unique(np.round(whole["score"], 2)))
    for r in scan["results"]:
        check_result(r, X, y, np.round(whole["score"].to_numpy(), 2), r["direction"], penalty=1e-6)


def test_bias_scan_counts_equals_bias_scan_on_rows():
    # the counts of a whole frame, grouped by pandas in order of first appearance
    for seed in range(4):
        frame = planted(1000 + 500 * seed, 10 + seed)
        cols = ["a", "b", "c"]
        cells = frame.groupby([*cols, "score"], sort=False)["y"].agg(["size", "sum"])
        cells = cells.reset_index()
        for over in (True, False):
            for penalty in (1e-6, 0.1, 2.0):
                ours = bias_scan_counts(
                    cells[cols],
                    cells["size"],
                    cells["sum"],
                    cells["score"],
                    overpredicted=over,
                    penalty=penalty,
                    random_state=seed,
                )
                rows = bias_scan(
                    frame[cols],
                    frame["y"],
                    frame["score"],
                    overpredicted=over,
                    penalty=penalty,
                    random_state=seed,
                )
                assert ours == rows


# ------------------------------------------------------------------------------------------
# the bundled COMPAS audit
# ------------------------------------------------------------------------------------------
def test_compas_scan(capsys):
    from fairkit.datasets import load_compas

    scan = scan_json(["--scan"], capsys)
    frame = load_compas(as_frame=True).frame
    X = frame[["race", "sex", "age_cat"]].astype(str)
    y = frame["two_year_recid"].to_numpy()
    p = frame.groupby("decile_score")["two_year_recid"].transform("mean").to_numpy()
    for r in scan["results"]:
        check_result(r, X, y, p, r["direction"], penalty=1e-6)
    over, under = scan["results"]
    # women's recidivism is below what their decile scores predict
    assert over["subgroup"]["sex"] == ["Female"] and "age_cat" not in over["subgroup"]
    assert over["observed_rate"] < over["expected_rate"]
    assert under["subgroup"]["sex"] == ["Male"]
    assert under["observed_rate"] > under["expected_rate"]


def test_compas_scan_attrs(capsys):
    scan = scan_json(
        [
            "--scan",
            "--scan-attrs",
            "sex",
            "priors_count",
            "--bin",
            "priors_count=1,4",
            "--scan-direction",
            "over",
        ],
        capsys,
    )
    assert scan["attributes"] == ["sex", "priors_count"]
    assert scan["results"][0]["score"] > 0


# ------------------------------------------------------------------------------------------
# every output format carries the scan
# ------------------------------------------------------------------------------------------
@pytest.fixture
def small_file(tmp_path):
    return write(tmp_path, planted(800, 3))


def test_text_markdown_and_csv_formats(small_file, capsys):
    base = [
        *scored(small_file, "a", "c"),
        "--scan",
        *SMALL,
    ]
    scan = scan_json(base[:-4], capsys)
    over = scan["results"][0]
    status, text, _ = run(base, capsys)
    assert status == 0
    assert "== bias scan (MDSS) ==" in text and over["description"] in text
    assert f"{over['score']:.4f}" in text
    status, md, _ = run([*base, "--format", "markdown"], capsys)
    assert status == 0
    assert "## Bias scan (MDSS)" in md and over["description"] in md
    status, out, _ = run([*base, "--format", "csv"], capsys)
    assert status == 0
    table = pd.read_csv(io.StringIO(out))
    rows = table[table["row"] == "bias_scan"].set_index("metric")
    assert list(rows.index) == ["over", "under"]
    assert rows.loc["over", "value"] == pytest.approx(over["score"])
    assert rows.loc["over", "subgroup"] == over["description"]
    assert rows.loc["over", "n_rows"] == over["n_rows"]
    assert rows.loc["over", "observed_rate"] == pytest.approx(over["observed_rate"])
    # without --scan: no scan anywhere
    status, out, _ = run(base[:-5] + SMALL + ["--format", "json"], capsys)
    assert "bias_scan" not in json.loads(out)


# ------------------------------------------------------------------------------------------
# bad inputs: one line naming the option and value, no output
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, pattern",
    [
        (
            ["--pred", "score", "--threshold", "0.5", "--prot-attr", "a", "--scan"],
            r"--scan needs --target",
        ),
        (
            ["--target", "y", "--pred", "yhat", "--prot-attr", "a", "--scan", "--scan-attrs", "zz"],
            r"--scan-attrs 'zz' is not a column of",
        ),
        (
            [
                "--target",
                "y",
                "--pred",
                "yhat",
                "--prot-attr",
                "a",
                "--scan",
                "--scan-attrs",
                "age2",
            ],
            r"--scan-attrs 'age2' has more than 100 distinct numeric values; bin it "
            r"with --bin age2=EDGES",
        ),
        (
            ["--target", "y", "--pred", "yhat", "--prot-attr", "a", "--scan-attrs", "c"],
            r"--scan-attrs needs --scan",
        ),
        (
            ["--target", "y", "--pred", "yhat", "--prot-attr", "a", "--scan-direction", "over"],
            r"--scan-direction needs --scan",
        ),
        (
            ["--target", "y", "--pred", "yhat", "--prot-attr", "a", "--scan", "--scan-iters", "0"],
            r"--scan-iters must be a positive integer, got 0",
        ),
        (
            [
                "--target",
                "y",
                "--pred",
                "yhat",
                "--prot-attr",
                "a",
                "--scan",
                "--scan-penalty",
                "-1",
            ],
            r"--scan-penalty must be a finite number >= 0, got -1",
        ),
        (
            ["--target", "y", "--pred", "yhat", "--prot-attr", "a", "--scan", "--scan-round", "2"],
            r"--scan-round rounds scores",
        ),
        (
            ["--target", "y", "--pred", "raw", "--threshold", "0", "--prot-attr", "a", "--scan"],
            r"--pred column 'raw' must hold probabilities in \[0, 1\] for --scan; found -",
        ),
        (
            ["--target", "y", "--pred", "fine", "--threshold", "0.5", "--prot-attr", "a", "--scan"],
            r"--pred column 'fine' has more than 10000 distinct scores.*--scan-round",
        ),
    ],
)
def test_bad_scan_inputs_give_one_line(tmp_path, capsys, argv, pattern):
    rng = np.random.default_rng(0)
    frame = planted(12000, 8)
    frame["age2"] = np.arange(len(frame)) % 150
    frame["raw"] = rng.normal(size=len(frame))
    frame["fine"] = rng.uniform(size=len(frame))
    path = write(tmp_path, frame)
    refused(capsys, ["--csv", path, *argv, "--chunksize", "5000", *SMALL], pattern)


def test_scan_of_lar_and_unknown_compas_column_refused(capsys):
    refused(capsys, ["--lar", "nope.csv", "--scan"], r"--scan needs observed outcomes")
    refused(
        capsys,
        ["--scan", "--scan-attrs", "decile_score"],
        r"--scan-attrs 'decile_score' is not a column of the bundled COMPAS data",
    )
    refused(
        capsys,
        ["--scan", "--scan-attrs", "age", "--bin", "nope=1"],
        r"--bin 'nope=1' must be COL=EDGES",
    )


def test_rounding_accepts_what_distinct_scores_refuse(tmp_path, capsys):
    frame = planted(12000, 9, decimals=8)
    path = write(tmp_path, frame)
    base = [
        *scored(path, "c"),
        "--scan",
        "--scan-direction",
        "over",
        "--chunksize",
        "4000",
    ]
    refused(capsys, base + SMALL, r"more than 10000 distinct scores")
    scan = scan_json([*base, "--scan-round", "3"], capsys)
    whole = pd.read_csv(path)
    check_result(
        scan["results"][0],
        whole[["c"]],
        whole["y"].to_numpy(),
        np.round(whole["score"].to_numpy(), 3),
        "over",
        penalty=1e-6,
    )
