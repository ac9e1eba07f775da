"""`fairkit audit --csv`: one file, one answer, whatever --chunksize (issue 16, item 3).

pandas infers a column's type per chunk, so before the fix the same file gave different
numbers at different chunk sizes. Each fault below is injected into a small file and the
audit is run at every chunk size from 1 to the number of rows: it must give the numbers of
the whole file read in memory (hand counts, or ``fairness_report`` on
``pandas.read_csv(file, low_memory=False)``), or the same one-line error every time.
"""

import gzip
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairkit.cli import main
from fairkit.metrics import fairness_report

SMALL = ["--min-group-size", "1", "--n-bootstrap", "0"]


def run(argv, capsys):
    out = io.StringIO()
    status = main(["audit", *argv], out=out)
    return status, out.getvalue(), capsys.readouterr().err


def every_chunksize(path, argv, capsys, n_rows, sizes=None):
    """Run the audit at chunk sizes 1..n_rows (and the default); all results must agree."""
    results = {}
    for size in sizes or [*range(1, n_rows + 1), None]:
        extra = [] if size is None else ["--chunksize", str(size)]
        results[size] = run(["--csv", path, *argv, *extra], capsys)
    first = next(iter(results.values()))
    for size, result in results.items():
        assert result == first, f"--chunksize {size} differs from --chunksize 1"
    return first


def groups(text, attr="g"):
    report = json.loads(text)
    rows = report["attributes"][attr]["groups"]
    labels = [r["group"] for r in rows]
    assert len(labels) == len(set(labels)), labels  # one label per group
    return {r["group"]: r for r in rows}


def one_line_error(result, pattern):
    status, out, err = result
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(pattern, err), err


def write_text(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------------------------------
# the four faults of the issue
# ------------------------------------------------------------------------------------------
def test_boolean_decisions_are_booleans_at_every_chunk_size(tmp_path, capsys):
    # a: True, False, False -> 1/3; b: True x 3 -> 1
    path = write_text(tmp_path, "p,g\nTrue,a\nFalse,a\nFalse,a\nTrue,b\nTrue,b\nTrue,b\n")
    status, out, _ = every_chunksize(path, ["--pred", "p", "--prot-attr", "g", *SMALL,
                                            "--format", "json"], capsys, 6)
    assert status == 0
    g = groups(out)
    assert g["a"]["selection_rate"] == pytest.approx(1 / 3)
    assert g["b"]["selection_rate"] == pytest.approx(1.0)


def test_a_blank_boolean_decision_is_refused_with_its_line(tmp_path, capsys):
    # the blank on line 4 once read as 0.000/0.000 or 0.333/0.333 depending on chunk size
    path = write_text(tmp_path, "p,g\nTrue,a\nFalse,a\n,a\nTrue,b\nTrue,b\nTrue,b\n")
    result = every_chunksize(path, ["--pred", "p", "--prot-attr", "g", *SMALL], capsys, 6)
    one_line_error(result, r"--pred column 'p' is missing in 1 of 6 rows \(line 4\)")


def test_a_text_code_in_a_numeric_group_column_makes_every_code_text(tmp_path, capsys):
    # codes 1 and 2 with one 'x' at the end: whole-file pandas reads the column as text
    rows = ["y,p,g"] + [f"{i % 2},{i % 2},{1 + i % 3 // 2}" for i in range(9)] + ["1,1,x"]
    path = write_text(tmp_path, "\n".join(rows) + "\n")
    status, out, _ = every_chunksize(path, ["--target", "y", "--pred", "p", "--prot-attr",
                                            "g", *SMALL, "--format", "json"], capsys, 10)
    assert status == 0
    g = groups(out)  # no int 1 beside a str '1': one label per group
    # i = 0..8: g = 1 for i % 3 in {0, 1} (6 rows), 2 for i % 3 == 2 (3 rows)
    assert {k: v["n_rows"] for k, v in g.items()} == {"1": 6, "2": 3, "x": 1}
    # group 1: i = 0,1,3,4,6,7 -> p = 0,1,1,0,0,1 -> 1/2; group 2: i = 2,5,8 -> 0,1,0
    assert g["1"]["selection_rate"] == pytest.approx(0.5)
    assert g["2"]["selection_rate"] == pytest.approx(1 / 3)


def test_a_text_code_after_many_numeric_rows_in_one_chunk(tmp_path, capsys):
    # large enough that pandas' low-memory reader splits one chunk into typed blocks
    n = 300_000
    g = np.where(np.arange(n) % 4 == 0, 2, 1)
    frame = pd.DataFrame({"p": np.arange(n) % 2, "g": g.astype(object)})
    frame.loc[n - 1, "g"] = "x"
    path = str(tmp_path / "big.csv")
    frame.to_csv(path, index=False)
    status, out, _ = run(["--csv", path, "--pred", "p", "--prot-attr", "g", *SMALL,
                          "--format", "json"], capsys)
    assert status == 0
    sizes = {k: v["n_rows"] for k, v in groups(out).items()}
    assert sizes == {"1": int((g[:-1] == 1).sum()), "2": int((g[:-1] == 2).sum()), "x": 1}


def test_a_blank_target_is_refused_not_a_negative_label(tmp_path, capsys):
    text = "y,p,g\n1,1,a\n,0,a\n0,1,b\n1,1,b\n0,0,a\n"
    path = write_text(tmp_path, text)
    with pytest.raises(ValueError, match="y_true contains NaN"):  # the in-memory API
        frame = pd.read_csv(io.StringIO(text))
        fairness_report(frame["y"], frame["p"], sensitive_features=frame["g"])
    result = every_chunksize(path, ["--target", "y", "--pred", "p", "--prot-attr", "g",
                                    *SMALL], capsys, 5)
    one_line_error(result, r"--target column 'y' is missing in 1 of 5 rows \(line 3\)")


def test_missing_cells_in_several_columns_are_counted_in_one_line(tmp_path, capsys):
    text = "y,p,g\n1,1,a\n,0,a\n0,,b\n1,1,\n0,0,a\n,1,b\n"
    path = write_text(tmp_path, text)
    result = every_chunksize(path, ["--target", "y", "--pred", "p", "--prot-attr", "g",
                                    *SMALL], capsys, 6)
    one_line_error(result, r"--target column 'y' is missing in 2 of 6 rows \(line 3, 7\); "
                           r"--pred column 'p' is missing in 1 of 6 rows \(line 4\); "
                           r"--prot-attr column 'g' is missing in 1 of 6 rows \(line 5\)")


@pytest.mark.parametrize("n_ids, refused", [(300, True), (101, True), (100, False)])
def test_numeric_ids_are_continuous_or_not_at_every_chunk_size(tmp_path, capsys, n_ids,
                                                               refused):
    ids = np.arange(n_ids)
    path = str(tmp_path / "ids.csv")
    pd.DataFrame({"p": ids % 2, "g": ids}).to_csv(path, index=False)
    sizes = [1, 7, 50, 99, 100, 101, 150, n_ids - 1, n_ids, None]
    result = every_chunksize(path, ["--pred", "p", "--prot-attr", "g", *SMALL], capsys,
                             n_ids, sizes=sizes)
    if refused:
        one_line_error(result, r"--prot-attr 'g' has more than 100 distinct numeric values")
    else:
        status, _, err = result
        assert status == 0
        # one warning, with the whole file's count of levels, not one per chunk
        assert err.count("warning") == 1
        assert "--prot-attr 'g' is numeric with 100 distinct values" in err


def test_scores_are_refused_with_the_whole_files_count(tmp_path, capsys):
    # two non-integer decisions, 0.25 and 0.75, on lines 3 and 6
    path = write_text(tmp_path, "p,g\n1,a\n0.25,a\n0,a\n1,b\n0.75,b\n1,b\n")
    result = every_chunksize(path, ["--pred", "p", "--prot-attr", "g", *SMALL], capsys, 6)
    one_line_error(result, r"--pred column 'p' holds scores, not labels: 2 non-integer "
                           r"value\(s\) between 0.25 and 0.75; pass --threshold")


def test_n_rows_is_an_integer_in_json_and_csv_at_every_chunk_size(tmp_path, capsys):
    path = write_text(tmp_path, "y,p,g\n1,1,a\n0,0,a\n1,0,b\n0,1,b\n1,1,b\n")
    for size in range(1, 6):
        argv = ["--csv", path, "--target", "y", "--pred", "p", "--prot-attr", "g", *SMALL,
                "--chunksize", str(size)]
        status, out, _ = run([*argv, "--format", "json"], capsys)
        sizes = {k: v["n_rows"] for k, v in groups(out).items()}
        assert sizes == {"a": 2, "b": 3}
        assert all(type(v) is int for v in sizes.values())
        status, out, _ = run([*argv, "--format", "csv"], capsys)
        table = pd.read_csv(io.StringIO(out), dtype=str)
        assert list(table.loc[table["row"] == "group", "n_rows"]) == ["2", "3"]


# ------------------------------------------------------------------------------------------
# files that are not CSV text: one line, exit 2
# ------------------------------------------------------------------------------------------
def _bad_files(tmp_path):
    plain = b"p,g\n1,a\n0,b\n1,b\n"
    files = {
        "empty.csv": (b"", r"is empty: no header line, no rows"),
        "header.csv": (b"p,g\n", r"has a header but no rows"),
        "quote.csv": (b'p,g\n1,"a\n0,b\n', r"not a well-formed CSV: .*EOF inside string.*"
                                           r"a quote is opened and never closed"),
        "utf16.csv": ("p,g\n1,a\n0,b\n".encode("utf-16"), r"is not UTF-8 text \(UTF-16"),
        "utf16le.csv": ("p,g\n1,a\n0,b\n".encode("utf-16-le"), r"is not UTF-8 text"),
        "latin1.csv": ("p,g\n1,a\n0,b\n1,é\n".encode("latin-1"),
                       r"is not UTF-8 text \(byte 0xe9 at line 4\)"),
        "gzip.csv": (gzip.compress(plain), r"holds gzip-compressed data under a plain name;"
                                           r" decompress it or name it gzip.csv.gz"),
        "cut.csv.gz": (gzip.compress(plain * 200)[:-30], r"cannot be read \(EOFError"),
        "notgzip.csv.gz": (plain, r"cannot be read \(BadGzipFile"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: (str(tmp_path / name), pattern) for name, (_, pattern) in files.items()}


@pytest.mark.parametrize("name", ["empty.csv", "header.csv", "quote.csv", "utf16.csv",
                                  "utf16le.csv", "latin1.csv", "gzip.csv", "cut.csv.gz",
                                  "notgzip.csv.gz"])
def test_unreadable_files_give_one_line(tmp_path, capsys, name):
    path, pattern = _bad_files(tmp_path)[name]
    for size in ([1, 2, None]):
        extra = [] if size is None else ["--chunksize", str(size)]
        result = run(["--csv", path, "--pred", "p", "--prot-attr", "g", *SMALL, *extra],
                     capsys)
        one_line_error(result, pattern)
        assert "group" not in result[2]  # header only: "no rows", not a group count


def test_a_gzip_file_named_csv_gz_is_read(tmp_path, capsys):
    path = tmp_path / "ok.csv.gz"
    path.write_bytes(gzip.compress(b"p,g\n1,a\n0,a\n1,b\n1,b\n"))
    status, out, _ = run(["--csv", str(path), "--pred", "p", "--prot-attr", "g", *SMALL,
                          "--format", "json"], capsys)
    assert status == 0
    g = groups(out)
    assert (g["a"]["selection_rate"], g["b"]["selection_rate"]) == (0.5, 1.0)


# ------------------------------------------------------------------------------------------
# property: any small file of mixed cells, every chunk size, equals the in-memory report
# ------------------------------------------------------------------------------------------
LABEL_CELLS = ["0", "1", "1", "0", "True", "False", "1.0", "0.0", "yes", "2"]
GROUP_CELLS = ["1", "2", "3", "x", "True", "False", "1.0", "2.5", "a", "b"]


def _pos(column):
    """--pos-label '1' in the type pandas gave the whole column (written independently)."""
    if column.dtype == bool:
        return True
    if pd.api.types.is_numeric_dtype(column):
        return 1.0
    return "1"


@st.composite
def messy_files(draw):
    n = draw(st.integers(2, 10))
    cells = {}
    for col, vocab in (("y", LABEL_CELLS), ("p", LABEL_CELLS), ("g", GROUP_CELLS)):
        pool = draw(st.lists(st.sampled_from(vocab), min_size=1, max_size=3, unique=True))
        cells[col] = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    blank = draw(st.sampled_from([None, None, None, "y", "p", "g"]))
    if blank is not None:
        cells[blank][draw(st.integers(0, n - 1))] = ""
    lines = ["y,p,g"] + [",".join(r) for r in zip(*cells.values(), strict=True)]
    return "\n".join(lines) + "\n", n


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=messy_files())
def test_every_chunk_size_equals_the_whole_file_in_memory(tmp_path, capsys, case):
    text, n = case
    path = write_text(tmp_path, text)
    status, out, err = every_chunksize(path, ["--target", "y", "--pred", "p", "--prot-attr",
                                              "g", *SMALL, "--format", "json"], capsys, n)
    frame = pd.read_csv(io.StringIO(text), low_memory=False)
    if frame.isna().any().any():
        assert status == 2 and "is missing in" in err
        return
    if status != 0:
        return  # the same refusal at every chunk size (a single group, no pos label, ...)
    t = (frame["y"] == _pos(frame["y"])).astype(int)
    p = (frame["p"] == _pos(frame["p"])).astype(int)
    by = frame["g"]
    hand = pd.DataFrame({"n_rows": t.groupby(by).size(), "selection_rate": p.groupby(by).mean(),
                         "base_rate": t.groupby(by).mean(),
                         "accuracy": (t == p).groupby(by).mean()})
    hand.index = hand.index.map(str)
    cli = groups(out)
    assert set(cli) == set(hand.index)
    for label, row in cli.items():
        for col in hand.columns:
            assert row[col] == pytest.approx(hand.loc[label, col])
    if len(cli) >= 2:  # fairness_report compares two groups or more
        report = fairness_report(t, p, sensitive_features=by,
                                 metrics=["selection_rate", "base_rate", "accuracy"])
        for label, row in cli.items():
            assert row["n_rows"] == report.loc[label, "n_rows"]
            for rate in ("selection_rate", "base_rate", "accuracy"):
                assert row[rate] == pytest.approx(float(report.loc[label, rate]))


# ------------------------------------------------------------------------------------------
# item 5: weights near the float64 limit (fairkit/metrics/streaming.py)
# ------------------------------------------------------------------------------------------
def test_weights_near_the_float_limit_give_the_unweighted_rates():
    from fairkit.metrics import GroupCounts, statistical_parity_difference

    # equal weights of 1e308: every sum overflowed to inf and every rate was nan; rates
    # do not depend on a common factor, so they are the unweighted ones: a selects 1 of
    # 3, b 3 of 3; TPR a 1/2 (rows 0, 2 positive, row 0 selected), b 1
    y, p, g = [1, 0, 1, 0, 1, 1], [1, 0, 0, 1, 1, 1], list("aaabbb")
    w = np.full(6, 1e308)
    report = fairness_report(y, p, sensitive_features=g, sample_weight=w)
    assert report.loc["a", "selection_rate"] == pytest.approx(1 / 3)
    assert report.loc["b", "selection_rate"] == pytest.approx(1.0)
    assert report.loc["a", "true_positive_rate"] == pytest.approx(0.5)
    assert report.loc["difference", "selection_rate"] == pytest.approx(2 / 3)
    assert statistical_parity_difference(y, p, sensitive_features=g,
                                         sample_weight=w) == pytest.approx(2 / 3)
    # unequal huge weights: a's selected row weighs 1e308 against 2 x 5e307 -> 1/2
    w2 = np.array([1e308, 5e307, 5e307, 1e308, 1e308, 1e308])
    report = fairness_report(y, p, sensitive_features=g, sample_weight=w2)
    assert report.loc["a", "selection_rate"] == pytest.approx(0.5)
    # mergeable counts cannot carry a private scale: refused, not nan
    with pytest.raises(ValueError, match="sample_weight sums to more than float64 holds"):
        GroupCounts.from_arrays(y, p, sensitive_features=g, sample_weight=w)


# ------------------------------------------------------------------------------------------
# --scan (issue 20): the bias scan's counts at every chunk size equal the whole file's scan
# ------------------------------------------------------------------------------------------
def test_scan_at_every_chunk_size_equals_bias_scan_of_the_whole_file(tmp_path, capsys):
    from fairkit.metrics.mdss import bias_scan

    rng = np.random.default_rng(3)
    n = 60
    # h: numeric codes with one text code in the last row, so every code is text; the
    # outcomes of g = 'a' fall below the scores
    frame = pd.DataFrame({"g": rng.choice(list("abc"), n),
                          "h": rng.integers(1, 4, n).astype(object),
                          "s": rng.choice([0.2, 0.5, 0.8], n)})
    frame.loc[n - 1, "h"] = "x"
    frame["y"] = (rng.uniform(size=n) < frame["s"] * np.where(frame["g"] == "a", 0.3, 1))
    frame["y"] = frame["y"].astype(int)
    path = str(tmp_path / "scan.csv")
    frame.to_csv(path, index=False)
    status, out, err = every_chunksize(
        path, ["--target", "y", "--pred", "s", "--threshold", "0.5", "--prot-attr", "g", "h",
               "--scan", *SMALL, "--format", "json"], capsys, n, sizes=[1, 2, 7, 13, 59, 60])
    assert status == 0, err
    whole = pd.read_csv(path, low_memory=False)
    assert not pd.api.types.is_numeric_dtype(whole["h"])  # the whole file: text
    results = json.loads(out)["bias_scan"]["results"]
    for r in results:
        subgroup, score = bias_scan(whole[["g", "h"]], whole["y"], whole["s"],
                                    overpredicted=r["direction"] == "over", penalty=1e-6,
                                    random_state=0)
        assert (r["subgroup"], r["score"]) == (subgroup, score)
    assert results[0]["score"] > 0 and "a" in results[0]["subgroup"].get("g", ["a"])
