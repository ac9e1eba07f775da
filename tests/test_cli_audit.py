"""`fairkit audit`: every wrong-number case ends correct or refused with one line (issue 14)."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairkit
from fairkit.cli import main
from fairkit.metrics import fairness_report

LAR = Path(__file__).resolve().parents[1] / "datasets" / "hmda" / "lar_2020_ny_one_lender.csv"
SMALL = ["--min-group-size", "1", "--n-bootstrap", "0"]


def run(argv):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue()


def audit_json(argv):
    status, text = run(["audit", *argv, "--format", "json"])
    assert status == 0
    return json.loads(text)


def groups_of(report, attr):
    return {g["group"]: g for g in report["attributes"][attr]["groups"]}


def refused(capsys, argv, pattern):
    status, text = run(["audit", *argv])
    err = capsys.readouterr().err
    assert status == 2 and text == ""
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(pattern, err), err


def write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


# ------------------------------------------------------------------------------------------
# 1. --threshold and the label a score >= T stands for
# ------------------------------------------------------------------------------------------
@pytest.fixture
def denial_scores(tmp_path):
    # a denial score: score >= 0.5 means deny (label 1); approve (0) is favourable
    frame = pd.DataFrame({
        "denied": [1, 1, 0, 0, 0, 1, 0, 0],
        "score": [0.9, 0.8, 0.2, 0.1, 0.7, 0.3, 0.4, 0.05],
        "sex": list("aaaabbbb"),
    })
    return write(tmp_path, frame)


def test_threshold_with_favourable_label_zero_reads_a_denial_score(denial_scores):
    # decisions deny = [1,1,0,0 | 1,0,0,0]; truth [1,1,0,0 | 0,1,0,0]
    # a: 4/4 right, approves 2 of 4; b: rows 4 and 5 wrong -> 2/4, approves 3 of 4
    report = audit_json(["--csv", denial_scores, "--target", "denied", "--pred", "score",
                         "--threshold", "0.5", "--pos-label", "0", "--prot-attr", "sex",
                         *SMALL])
    sex = groups_of(report, "sex")
    assert sex["a"]["accuracy"] == pytest.approx(1.0)
    assert sex["b"]["accuracy"] == pytest.approx(0.5)
    assert sex["a"]["selection_rate"] == pytest.approx(0.5)
    assert sex["b"]["selection_rate"] == pytest.approx(0.75)
    assert report["score_label"] == "1"


def test_score_label_says_a_high_score_is_the_favourable_label(denial_scores):
    # read as an approval score: score >= 0.5 is 0 (approve) -> approve = [1,1,0,0 | 1,0,0,0]
    # favourable truth (denied == 0) = [0,0,1,1 | 1,0,1,1]: a 0/4 right, b 2/4 right
    report = audit_json(["--csv", denial_scores, "--target", "denied", "--pred", "score",
                         "--threshold", "0.5", "--pos-label", "0", "--score-label", "0",
                         "--prot-attr", "sex", *SMALL])
    sex = groups_of(report, "sex")
    assert sex["a"]["accuracy"] == pytest.approx(0.0)
    assert sex["b"]["accuracy"] == pytest.approx(0.5)
    assert sex["a"]["selection_rate"] == pytest.approx(0.5)
    assert sex["b"]["selection_rate"] == pytest.approx(0.25)


def test_threshold_rule_is_printed(denial_scores):
    status, text = run(["audit", "--csv", denial_scores, "--target", "denied", "--pred",
                        "score", "--threshold", "0.5", "--pos-label", "0", "--prot-attr",
                        "sex", *SMALL])
    assert status == 0
    assert "decision = 1 if score >= 0.5, so favourable (label 0) when score < 0.5" in text


def test_score_label_must_be_a_label_of_string_targets(tmp_path, capsys):
    frame = pd.DataFrame({"outcome": ["deny", "approve"] * 4, "score": np.linspace(0, 1, 8),
                          "sex": list("aabbaabb")})
    path = write(tmp_path, frame)
    base = ["--csv", path, "--target", "outcome", "--pred", "score", "--threshold", "0.5",
            "--pos-label", "approve", "--prot-attr", "sex", *SMALL]
    refused(capsys, base, r"--score-label '1' is not a value of --target 'outcome'")
    report = audit_json(base + ["--score-label", "approve"])
    sex = groups_of(report, "sex")
    # rows: a = 0, 1, 4, 5 (scores >= 0.5: 4, 5); b = 2, 3, 6, 7 (6, 7)
    assert sex["a"]["selection_rate"] == pytest.approx(0.5)
    # a: truth approve at rows 1, 5; decided approve at 4, 5 -> right at 0 (deny/deny), 5
    assert sex["a"]["accuracy"] == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------
# 2, 3. scores as labels; a positive label that is not in the data
# ------------------------------------------------------------------------------------------
def test_scores_without_threshold_are_refused(tmp_path, capsys):
    frame = pd.DataFrame({"y": [0, 1] * 20, "score": np.linspace(0.01, 0.99, 40),
                          "g": ["a", "b"] * 20})
    path = write(tmp_path, frame)
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "score", "--prot-attr", "g"],
            r"--pred column 'score' holds scores, not labels: 40 non-integer value\(s\) between "
            r"0.01 and 0.99; pass --threshold T")


@pytest.mark.parametrize("labels, extra, pattern", [
    ([0, 1], ["--pos-label", "7"], r"--pos-label '7' occurs in neither --target 'y'"),
    (["no", "yes"], [], r"--pos-label '1' occurs in neither --target 'y' .*'no', 'yes'"),
])
def test_positive_label_absent_from_the_data_is_refused(tmp_path, capsys, labels, extra,
                                                        pattern):
    frame = pd.DataFrame({"y": labels * 10, "p": labels[::-1] * 10, "g": ["a", "b"] * 10})
    path = write(tmp_path, frame)
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g",
                     *extra], pattern)


# ------------------------------------------------------------------------------------------
# 4, 6. privileged groups per attribute; one printed sign convention
# ------------------------------------------------------------------------------------------
@pytest.fixture
def two_attrs(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n),
                          "race": rng.choice(["a", "b", "c"], n),
                          "sex": rng.choice(["f", "m"], n)})
    return write(tmp_path, frame), frame


@pytest.mark.parametrize("priv", [["race=a", "sex=m"], ["a", "m"]])
def test_priv_group_per_attribute(two_attrs, priv):
    path, frame = two_attrs
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr",
                         "race", "sex", "--priv-group", *priv, "--n-bootstrap", "0"])
    sel = frame["p"]
    race_gap = sel[frame["race"] != "a"].mean() - sel[frame["race"] == "a"].mean()
    sex_gap = sel[frame["sex"] == "f"].mean() - sel[frame["sex"] == "m"].mean()
    attrs = report["attributes"]
    assert attrs["race"]["gaps"]["statistical_parity_difference"] == pytest.approx(race_gap)
    assert attrs["sex"]["gaps"]["statistical_parity_difference"] == pytest.approx(sex_gap)
    assert attrs["sex"]["privileged_group"] == "m"
    assert attrs["sex"]["gap_groups"]["statistical_parity_difference"] == "(f) - m"
    assert "unprivileged groups (pooled) minus privileged m" in attrs["sex"]["gap_definition"]


@pytest.mark.parametrize("priv, pattern", [
    (["z"], r"--priv-group 'z' is not a group of any audited attribute; groups: "
            r"race: \['a', 'b', 'c'\]; sex: \['f', 'm'\]"),
    (["sex=x"], r"--priv-group 'sex=x': 'x' is not a group of 'sex'; groups: \['f', 'm'\]"),
])
def test_priv_group_not_in_the_data_is_refused(two_attrs, capsys, priv, pattern):
    path, _ = two_attrs
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "race",
                     "sex", "--priv-group", *priv], pattern)


def test_sign_convention_printed_and_ratio_apart_from_differences(two_attrs):
    path, _ = two_attrs
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "sex"])
    assert status == 0
    assert ("Sign: difference = largest minus smallest group rate (0 = parity, never "
            "negative); ratio = smallest over largest (1 = parity).") in text
    assert "largest minus smallest group)" not in text
    # the ratio is printed unsigned, as a ratio
    assert re.search(r"disparate_impact_ratio\s+0\.\d{3}\s", text)


# ------------------------------------------------------------------------------------------
# 5. minimum group size, intervals, which two groups
# ------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_group(tmp_path):
    # a: 100 rows, 40 selected; b: 100 rows, 30 selected; c: 5 rows, all selected
    p = [1] * 40 + [0] * 60 + [1] * 30 + [0] * 70 + [1] * 5
    frame = pd.DataFrame({"y": [1, 0] * 102 + [1], "p": p,
                          "g": ["a"] * 100 + ["b"] * 100 + ["c"] * 5})
    return write(tmp_path, frame), frame


def test_small_groups_flagged_and_left_out_of_the_gaps(tiny_group):
    path, _ = tiny_group
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g"])
    attr = report["attributes"]["g"]
    groups = groups_of(report, "g")
    assert [groups[k]["in_gaps"] for k in "abc"] == [True, True, False]
    assert attr["groups_left_out_of_gaps"] == ["c"]
    assert attr["gaps"]["statistical_parity_difference"] == pytest.approx(0.40 - 0.30)
    assert attr["gaps"]["disparate_impact_ratio"] == pytest.approx(0.30 / 0.40)
    assert attr["gap_groups"]["statistical_parity_difference"] == "a - b"
    assert attr["gap_groups"]["disparate_impact_ratio"] == "b / a"
    lo, hi = attr["gap_intervals"]["statistical_parity_difference"]
    assert lo < 0.10 < hi
    assert report["min_group_size"] == 30
    # with every group admitted, c's selection rate of 1 makes the gap 1 - 0.3
    every = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g",
                        "--min-group-size", "1"])
    assert every["attributes"]["g"]["gaps"]["statistical_parity_difference"] == \
        pytest.approx(0.70)


def test_small_group_rule_is_printed(tiny_group):
    path, _ = tiny_group
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "g"])
    assert status == 0
    assert "Gaps over groups with >= 30 rows; left out: c." in text
    assert "no (< 30)" in text and "95% CI" in text


def test_intervals_equal_fairness_reports(tiny_group):
    path, frame = tiny_group
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g",
                         "--min-group-size", "1", "--n-bootstrap", "300",
                         "--random-state", "7", "--chunksize", "50"])
    expected = fairness_report(frame["y"], frame["p"], sensitive_features=frame["g"],
                               metrics=["selection_rate"], n_bootstrap=300, random_state=7)
    lo, hi = report["attributes"]["g"]["gap_intervals"]["statistical_parity_difference"]
    assert lo == pytest.approx(expected.loc["difference", "selection_rate_lower"])
    assert hi == pytest.approx(expected.loc["difference", "selection_rate_upper"])


@pytest.fixture
def near_parity(tmp_path):
    # 2,000 rows per group; FPR 604/1000 = 0.604 (F) vs 606/1000 = 0.606 (M), TPR 0.5 in
    # both, selection rate 0.552 vs 0.553: every single-rate gap is at or near parity
    n = 1000
    rows = []
    for g, fp in [("F", 604), ("M", 606)]:
        y = [1] * n + [0] * n
        p = [1] * 500 + [0] * 500 + [1] * fp + [0] * (n - fp)
        rows += [(yy, pp, g) for yy, pp in zip(y, p, strict=False)]
    frame = pd.DataFrame(rows, columns=["y", "p", "g"])
    return write(tmp_path, frame), frame


def test_gap_intervals_near_parity_include_zero(near_parity):
    path, _ = near_parity
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g"])
    attr = report["attributes"]["g"]
    assert attr["gaps"]["false_positive_rate_difference"] == pytest.approx(0.002, abs=1e-12)
    assert attr["gap_groups"]["false_positive_rate_difference"] == "M - F"
    for gap in ["statistical_parity_difference", "false_positive_rate_difference",
                "accuracy_difference"]:
        lo, hi = attr["gap_intervals"][gap]
        assert lo < 0 < hi, gap
        value = attr["gaps"][gap]
        assert lo < value < hi and value - lo > 0.3 * (hi - lo), gap
    lo, hi = attr["gap_intervals"]["disparate_impact_ratio"]
    assert lo < 1 < hi
    assert lo < attr["gaps"]["disparate_impact_ratio"] < hi
    # TPR 0.5 in both groups: an exact tie still names two groups and a two-sided interval
    assert attr["gaps"]["equal_opportunity_difference"] == 0
    assert attr["gap_groups"]["equal_opportunity_difference"] == "F - M"
    lo, hi = attr["gap_intervals"]["equal_opportunity_difference"]
    assert lo < 0 < hi
    # the composites keep the max-gap statistic's interval, which cannot go below 0
    for gap in ["average_odds_difference", "equalized_odds_difference"]:
        assert attr["gap_intervals"][gap][0] >= 0
    assert "max-gap statistic" in attr["interval_definition"]


def test_interval_rule_is_printed(near_parity):
    path, _ = near_parity
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "g", "--n-bootstrap", "200"])
    assert status == 0
    line = [x for x in text.splitlines() if x.startswith("Intervals: ")]
    assert len(line) == 1
    assert "95% CI = percentile bootstrap (200 resamples) of the named pair's rate(a) - " \
        "rate(b)" in line[0]
    assert "average_odds_difference and equalized_odds_difference of the max-gap " \
        "statistic" in line[0]
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "g", "--priv-group", "M"])
    assert "of the signed gap as defined (a fixed contrast)" in text
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "g", "--n-bootstrap", "0"])
    assert "Intervals:" not in text
    status, text = run(["audit", "--csv", path, "--pred", "p", "--prot-attr", "g",
                        "--format", "csv"])
    gaps = pd.read_csv(io.StringIO(text)).query("row == 'gap'")
    assert gaps["interval_definition"].str.contains("named pair").all()


def test_every_single_rate_interval_equals_fairness_reports(tiny_group):
    path, frame = tiny_group
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g",
                         "--min-group-size", "1", "--n-bootstrap", "400",
                         "--random-state", "3", "--confidence", "0.9"])
    rates = {"statistical_parity_difference": ("selection_rate", "difference"),
             "equal_opportunity_difference": ("true_positive_rate", "difference"),
             "false_positive_rate_difference": ("false_positive_rate", "difference"),
             "accuracy_difference": ("accuracy", "difference"),
             "disparate_impact_ratio": ("selection_rate", "ratio")}
    expected = fairness_report(frame["y"], frame["p"], sensitive_features=frame["g"],
                               metrics=sorted({r for r, _ in rates.values()}),
                               n_bootstrap=400, random_state=3, confidence=0.9)
    attr = report["attributes"]["g"]
    for gap, (rate, row) in rates.items():
        lo, hi = attr["gap_intervals"][gap]
        assert lo == pytest.approx(expected.loc[row, f"{rate}_lower"], abs=1e-12), gap
        assert hi == pytest.approx(expected.loc[row, f"{rate}_upper"], abs=1e-12), gap
    for gap, (rate, row) in rates.items():
        pair = expected.attrs["gap_pairs"][rate]
        sep = " / " if row == "ratio" else " - "
        shown = pair[::-1] if row == "ratio" else pair
        assert attr["gap_groups"][gap] == sep.join(shown), gap


# ------------------------------------------------------------------------------------------
# 9. counts are integers named n_rows
# ------------------------------------------------------------------------------------------
def test_counts_are_integers_named_n_rows(tiny_group):
    path, _ = tiny_group
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g"])
    sizes = {k: v["n_rows"] for k, v in groups_of(report, "g").items()}
    assert sizes == {"a": 100, "b": 100, "c": 5}
    assert all(type(v) is int for v in sizes.values())
    status, text = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                        "--prot-attr", "g", "--format", "csv"])
    table = pd.read_csv(io.StringIO(text), dtype=str)
    assert list(table.loc[table["row"] == "group", "n_rows"]) == ["100", "100", "5"]


# ------------------------------------------------------------------------------------------
# 10. numeric attributes with many levels
# ------------------------------------------------------------------------------------------
@pytest.fixture
def ages(tmp_path):
    age = np.arange(18, 78).repeat(2)  # 60 distinct ages, 120 rows
    frame = pd.DataFrame({"y": np.tile([0, 1], 60), "p": (age % 3 == 0).astype(int),
                          "age": age})
    return write(tmp_path, frame), frame


def test_numeric_attribute_with_many_levels_warns(ages, capsys):
    path, _ = ages
    status, _ = run(["audit", "--csv", path, "--target", "y", "--pred", "p",
                     "--prot-attr", "age", *SMALL])
    assert status == 0
    err = capsys.readouterr().err
    assert "--prot-attr 'age' is numeric with 60 distinct values" in err
    assert "--bin age=" in err


def test_bin_cuts_a_numeric_attribute(ages, capsys):
    path, frame = ages
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "age",
                         "--bin", "age=30,50", *SMALL])
    assert capsys.readouterr().err == ""
    groups = groups_of(report, "age")
    # 18..29: 12 ages x 2 rows; 30..49: 20 x 2; 50..77: 28 x 2
    assert {k: v["n_rows"] for k, v in groups.items()} == {"<30": 24, "[30, 50)": 40,
                                                          ">=50": 56}
    young = frame[frame["age"] < 30]
    assert groups["<30"]["selection_rate"] == pytest.approx(young["p"].mean())


def test_more_levels_than_groups_allow_across_chunks_is_refused(tmp_path, capsys):
    # each chunk of 60 rows has 60 ages (under the per-chunk limit of 100); 150 in all
    frame = pd.DataFrame({"y": [0, 1] * 75, "p": [1, 0] * 75, "age": np.arange(150)})
    path = write(tmp_path, frame)
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "age",
                     "--chunksize", "60"],
            r"--prot-attr 'age' has more than 100 distinct numeric values; bin it")


# ------------------------------------------------------------------------------------------
# 11. decisions only; HMDA LAR files
# ------------------------------------------------------------------------------------------
def test_decisions_only_audits_selection_rates(two_attrs):
    path, frame = two_attrs
    report = audit_json(["--csv", path, "--pred", "p", "--prot-attr", "race",
                         "--n-bootstrap", "0"])
    race = report["attributes"]["race"]
    assert report["decisions_only"] is True
    assert set(race["groups"][0]) == {"group", "n_rows", "selection_rate", "in_gaps"}
    assert set(race["gaps"]) == {"statistical_parity_difference", "disparate_impact_ratio"}
    rates = frame.groupby("race")["p"].mean()
    assert race["gaps"]["statistical_parity_difference"] == pytest.approx(
        rates.max() - rates.min())


def test_lar_file_audits_approval_by_sex():
    # independent reading of the raw 2020 file: approved = action taken 1, 2 or 8,
    # denied = 3 or 7, others (4, 5, 6) had no decision; applicant_sex 1 male, 2 female
    raw = pd.read_csv(LAR)
    decided = raw[raw["action_taken"].isin([1, 2, 3, 7, 8])]
    approved = decided["action_taken"].isin([1, 2, 8])
    report = audit_json(["--lar", str(LAR), "--n-bootstrap", "0", "--chunksize", "100"])
    sex = groups_of(report, "sex")
    for code, name in [(1, "Male"), (2, "Female")]:
        rows = decided["applicant_sex"] == code
        assert sex[name]["n_rows"] == int(rows.sum())
        assert sex[name]["selection_rate"] == pytest.approx(approved[rows].mean())
    assert sex["Male"]["n_rows"] == 167 and sex["Female"]["n_rows"] == 63
    assert report["decisions_only"] is True
    assert "race" in report["attributes"]
    assert "44 applications without a credit decision left out" in report["title"]
    # only White has 30 decided applications: no race gap rather than one from tiny groups
    race = report["attributes"]["race"]
    assert race["note"].startswith("no gap: 1 group(s) with >= 30 rows")
    assert race["gaps"]["statistical_parity_difference"] is None


def test_privileged_group_below_the_minimum_size_is_refused(tiny_group, capsys):
    path, _ = tiny_group
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g",
                     "--priv-group", "c"],
            r"--priv-group 'c' has fewer than --min-group-size 30 rows")


# ------------------------------------------------------------------------------------------
# extras: --version, one-line errors
# ------------------------------------------------------------------------------------------
def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"], out=io.StringIO())
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"fairkit {fairkit.__version__}"


@pytest.mark.parametrize("extra, pattern", [
    (["--chunksize", "0"], r"--chunksize must be a positive integer, got 0"),
    (["--prot-attr", "nope"], r"column\(s\) \['nope'\] not found"),
    (["--prot-attr", "g", "--bin", "g=x"], r"--bin 'g=x': edges must be increasing"),
    (["--prot-attr", "g", "--min-group-size", "-1"], r"--min-group-size must be >= 0"),
])
def test_bad_options_give_one_line(tiny_group, capsys, extra, pattern):
    path, _ = tiny_group
    refused(capsys, ["--csv", path, "--target", "y", "--pred", "p", *extra], pattern)


# ------------------------------------------------------------------------------------------
# the CLI's numbers equal fairness_report's and fairlearn's MetricFrame
# ------------------------------------------------------------------------------------------
@st.composite
def audits(draw):
    n_groups = draw(st.integers(2, 4))
    rows = []
    for g in range(n_groups):
        size = draw(st.integers(2, 25))
        y = [1, 0] + draw(st.lists(st.integers(0, 1), min_size=size - 2, max_size=size - 2))
        p = draw(st.lists(st.integers(0, 1), min_size=size, max_size=size))
        rows += [(yy, pp, f"g{g}") for yy, pp in zip(y, p, strict=False)]
    order = draw(st.permutations(range(len(rows))))
    frame = pd.DataFrame([rows[i] for i in order], columns=["y", "p", "grp"])
    return frame, draw(st.integers(1, len(frame)))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=audits())
def test_cli_numbers_equal_fairness_report_and_metricframe(tmp_path, case):
    frame, chunksize = case
    path = write(tmp_path, frame)
    report = audit_json(["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "grp",
                         "--chunksize", str(chunksize), *SMALL])
    attr = report["attributes"]["grp"]
    cli = pd.DataFrame(attr["groups"]).set_index("group")
    rates = {"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
             "false_positive_rate": false_positive_rate}
    mf = MetricFrame(metrics=rates, y_true=frame["y"], y_pred=frame["p"],
                     sensitive_features=frame["grp"])
    ours = fairness_report(frame["y"], frame["p"], sensitive_features=frame["grp"],
                           metrics=list(rates))
    for rate in rates:
        np.testing.assert_allclose(cli[rate], mf.by_group[rate].loc[cli.index])
        np.testing.assert_allclose(cli[rate], ours[rate].loc[cli.index].astype(float))
    diff = mf.difference(method="between_groups")
    for gap, rate in [("statistical_parity_difference", "selection_rate"),
                      ("equal_opportunity_difference", "true_positive_rate"),
                      ("false_positive_rate_difference", "false_positive_rate")]:
        assert attr["gaps"][gap] == pytest.approx(diff[rate], abs=1e-12)
        assert attr["gaps"][gap] == pytest.approx(ours.loc["difference", rate], abs=1e-12)
    assert dict(cli["n_rows"]) == dict(frame["grp"].value_counts())
