"""MDSS bias scan: equal to AIF360's ``bias_scan``, hand-worked scores, bad inputs."""

import warnings

import numpy as np
import pandas as pd
import pytest

from fairkit.metrics.mdss import BiasScanResult, bias_scan

aif_mdss = pytest.importorskip("aif360.detectors.mdss_detector")


def aif360_scan(X, y, p, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecation warnings inside AIF360
        y = pd.Series(np.asarray(y))
        p = None if p is None else pd.Series(np.asarray(p, dtype=float))
        return aif_mdss.bias_scan(X.reset_index(drop=True), y, p, **kwargs)


def assert_same(ours, theirs):
    subgroup, score = ours
    assert subgroup == theirs[0]
    assert score == pytest.approx(float(theirs[1]), abs=1e-9)


def planted(n, seed, *, base=0.3, shift=0.5, levels=(4, 5, 3)):
    """Categorical data whose outcomes in one planted subgroup are lower than predicted."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.choice(list("abcdefgh"[: levels[0]]), n),
            "b": rng.integers(0, levels[1], n),
            "c": rng.choice(["u", "v", "w", "x"][: levels[2]], n),
        }
    )
    p = np.clip(rng.beta(2, 2 / base - 2, n), 0.01, 0.99)
    y = (rng.uniform(size=n) < p).astype(int)
    bias = (X["a"].isin(["a", "b"]) & (X["c"] == "u")).to_numpy()
    y[bias] = (rng.uniform(size=bias.sum()) < p[bias] * shift).astype(int)
    return X, y, p, bias


@pytest.fixture(scope="module")
def compas():
    from sklearn.linear_model import LogisticRegression

    from fairkit.datasets import load_compas

    bunch = load_compas()
    X = bunch.data[["sex", "race", "age_cat", "c_charge_degree"]].copy()
    X["priors"] = pd.cut(bunch.data["priors_count"], [-1, 0, 3, 100], labels=["0", "1-3", ">3"])
    y = bunch.target.to_numpy()
    Xd = pd.get_dummies(X)
    p = LogisticRegression(max_iter=1000).fit(Xd, y).predict_proba(Xd)[:, 1]
    return X, y, p


@pytest.mark.parametrize("overpredicted", [True, False])
def test_equals_aif360_on_compas(compas, overpredicted):
    X, y, p = compas
    theirs = aif360_scan(X, y, p, overpredicted=overpredicted, num_iters=4)
    ours = bias_scan(X, y, p, overpredicted=overpredicted, num_iters=4, random_state=0)
    assert_same(ours, theirs)
    assert ours.score > 1  # a subgroup deviates in each direction on COMPAS


@pytest.mark.parametrize(
    "n, seed, overpredicted, penalty, base",
    [
        (500, 0, True, 1e-17, 0.3),
        (1500, 1, True, 1e-17, 0.1),  # rare positive class
        (800, 2, False, 1e-17, 0.5),
        (1000, 3, True, 0.5, 0.3),  # a penalty that prunes values
        (600, 4, False, 2.0, 0.7),
    ],
)
def test_equals_aif360_on_planted_bias(n, seed, overpredicted, penalty, base):
    X, y, p, _ = planted(n, seed, base=base)
    theirs = aif360_scan(X, y, p, overpredicted=overpredicted, penalty=penalty, num_iters=5)
    ours = bias_scan(
        X, y, p, overpredicted=overpredicted, penalty=penalty, num_iters=5, random_state=0
    )
    assert_same(ours, theirs)


@pytest.mark.parametrize("overpredicted", [True, False])
def test_berk_jones_equals_aif360(overpredicted):
    X, y, _, _ = planted(700, 5, base=0.4)
    alpha = float(y.mean())
    theirs = aif360_scan(
        X, y, None, overpredicted=overpredicted, scoring="BerkJones", alpha=alpha, num_iters=4
    )
    ours = bias_scan(
        X, y, overpredicted=overpredicted, scoring="BerkJones", num_iters=4, random_state=0
    )
    assert_same(ours, theirs)


def test_pos_label_zero_equals_aif360_favorable_value():
    X, y, p, _ = planted(600, 6)
    labels = np.where(y == 1, "yes", "no")
    # AIF360 takes the favourable value on the raw labels; ours is pos_label
    theirs = aif360_scan(X, (labels == "no").astype(int), 1 - p, num_iters=3)
    ours = bias_scan(X, labels, 1 - p, pos_label="no", num_iters=3, random_state=0)
    assert_same(ours, theirs)


def test_finds_planted_subgroup():
    X, y, p, bias = planted(3000, 7, shift=0.3)
    result = bias_scan(X, y, p, random_state=0)
    np.testing.assert_array_equal(result.mask(X), bias)
    # with the default penalty (1e-17) a restriction to every value of a column can tie
    # with leaving it free; a small penalty prefers the free column
    simple = bias_scan(X, y, p, penalty=1e-3, random_state=0)
    assert simple.subgroup == {"a": ["a", "b"], "c": ["u"]}
    # nothing is under-predicted by much: a far lower score the other way
    assert bias_scan(X, y, p, overpredicted=False, random_state=0).score < result.score / 3


def test_hand_worked_bernoulli_score():
    # g = A: 10 positives out of 50, g = B: 25 of 50, every prediction 0.5. The score of a
    # set with Y positives of n is max_q Y log q - n log((1 + q) / 2), at q = Y / (n - Y):
    # A alone: 10 log(1/4) - 50 log(5/8) = 9.63724; A and B: 4.5700; B alone: 0 (q = 1).
    X = pd.DataFrame({"g": ["A"] * 50 + ["B"] * 50})
    y = np.r_[np.ones(10), np.zeros(40), np.ones(25), np.zeros(25)].astype(int)
    subgroup, score = bias_scan(X, y, np.full(100, 0.5), random_state=0)
    assert subgroup == {"g": ["A"]}
    assert score == pytest.approx(10 * np.log(0.25) - 50 * np.log(0.625), abs=1e-3)
    # under-predicted: B has q = 1 (score 0), A is the other way, so the whole data with
    # its q = 35 / 65 < 1 is clipped to q = 1 too: no subgroup scores above 0
    assert bias_scan(
        X, y, np.full(100, 0.5), overpredicted=False, random_state=0
    ).score == pytest.approx(0, abs=1e-9)


def test_result_unpacks_and_is_deterministic():
    X, y, p, _ = planted(500, 8)
    a = bias_scan(X, y, p, random_state=3)
    b = bias_scan(X, y, p, random_state=3)
    assert isinstance(a, BiasScanResult)
    subgroup, score = a
    assert (subgroup, score) == (b.subgroup, b.score)


def test_array_input_and_columns():
    X, y, p, _ = planted(500, 9)
    frame = bias_scan(X, y, p, random_state=0)
    arr = bias_scan(X.to_numpy(), y, p, random_state=0)
    names = dict(zip(X.columns, range(3), strict=True))
    assert arr.score == frame.score
    assert arr.subgroup == {names[k]: v for k, v in frame.subgroup.items()}
    np.testing.assert_array_equal(arr.mask(X.to_numpy()), frame.mask(X))
    sub = bias_scan(X.assign(z=np.arange(500) % 2), y, p, columns=["a", "b", "c"], random_state=0)
    assert sub == frame


def test_polars_input():
    pl = pytest.importorskip("polars")
    X, y, p, _ = planted(500, 10)
    assert bias_scan(pl.from_pandas(X), pl.Series(y), pl.Series(p), random_state=0) == bias_scan(
        X, y, p, random_state=0
    )


def test_continuous_column_warns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300), "g": rng.integers(0, 2, 300)})
    with pytest.warns(UserWarning, match="'x'.*bin it"):
        bias_scan(X, rng.integers(0, 2, 300), np.full(300, 0.5), num_iters=1, random_state=0)
    # the scan of counted cells warns the same way (its X is one row per cell)
    with pytest.warns(UserWarning, match="'x'.*bin it"):
        _mdss.bias_scan_counts(
            X, np.full(300, 2), rng.integers(0, 3, 300), np.full(300, 0.5), num_iters=1
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_prob": np.r_[np.full(99, 0.5), 1.2]}, "y_prob"),
        ({"y_prob": np.r_[np.full(99, 0.5), np.nan]}, "y_prob"),
        ({"y_prob": np.full(99, 0.5)}, "y_prob has 99"),
        ({"y_true": np.zeros(101)}, "y_true has 101"),
        ({"y_true": np.arange(100) % 3}, "y_true must be binary"),
        ({"scoring": "Gaussian"}, "scoring"),
        ({"penalty": -1.0}, "penalty"),
        ({"num_iters": 0}, "num_iters"),
        ({"pos_label": 7}, "pos_label"),
        ({"alpha": 0.3}, "alpha"),
        ({"scoring": "BerkJones", "y_prob": np.linspace(0, 1, 100)}, "constant"),
        ({"scoring": "BerkJones", "y_prob": np.full(100, 0.5), "alpha": 1.5}, "alpha"),
        ({"columns": ["nope"]}, "columns"),
        ({"overpredicted": "yes"}, "overpredicted"),
    ],
)
def test_bad_inputs(kwargs, match):
    X = pd.DataFrame({"g": np.arange(100) % 2})
    args = {"y_true": np.arange(100) % 2, "y_prob": np.full(100, 0.5), **kwargs}
    with pytest.raises(ValueError, match=match):
        bias_scan(X, **args)


def test_missing_attribute_values_raise():
    X = pd.DataFrame({"g": ["a", None, "b", "a"]})
    with pytest.raises(ValueError, match="missing values.*'g'"):
        bias_scan(X, [0, 1, 0, 1], [0.5] * 4)


# ---------------------------------------------------------------------------------------
# the fast path (Newton's method, bisection replayed on the root) against the plain
# bisections it replaces: equal bit for bit
# ---------------------------------------------------------------------------------------

from fairkit.metrics import mdss as _mdss  # noqa: E402


def random_segments(rng, n, k, *, kind, weighted):
    """Cells of ``k`` segments (contiguous), probabilities of the given kind."""
    seg = np.sort(rng.integers(0, k, n))
    if kind == "distinct":
        p = rng.beta(2, 3, n)
    elif kind == "ties":
        p = np.round(rng.beta(2, 3, n), 1)
    elif kind == "extreme":  # 0 and 1 exactly, and next to them
        p = rng.choice([0.0, 1.0, 1e-12, 1 - 1e-12, 0.3, 0.97], n)
    else:  # only 0 and 1: the sums do not depend on q
        p = rng.choice([0.0, 1.0], n)
    w = rng.integers(1, 6, n).astype(float) if weighted else None
    bounds = np.searchsorted(seg, np.arange(k + 1))
    segs = _mdss._Segments(p, w, bounds[:-1], bounds[1:])
    ones = np.ones(n) if w is None else w
    N = np.bincount(seg, weights=ones, minlength=k)
    shift = rng.choice([0.2, 0.6, 1.0, 1.6, 3.0], k)  # observed = shift * expected
    Y = np.floor(np.minimum(N, np.bincount(seg, ones * p, minlength=k) * shift) + 0.5)
    Y[rng.uniform(size=k) < 0.15] = 0  # no positive outcome
    full = rng.uniform(size=k) < 0.1
    Y[full] = N[full]  # every outcome positive
    return segs, Y, N


CASES = [
    (n, k, kind, weighted, seed)
    for seed, (n, k) in enumerate([(40, 3), (500, 5), (3000, 9), (20000, 4), (60, 12)])
    for kind in ("distinct", "ties", "extreme", "binary")
    for weighted in (False, True)
]


@pytest.mark.parametrize("extreme", [False, True])  # q at the ends of its bracket
@pytest.mark.parametrize("weighted", [False, True])
def test_segment_sums_equal_numpy_sums(weighted, extreme):
    # subsets made of runs of cells (overlapping, in any order), summed by the compiled
    # kernel, against NumPy sums over copies of their cells
    rng = np.random.default_rng(4)
    n = 2000
    p = rng.beta(2, 3, n)
    p[rng.uniform(size=n) < 0.2] = 1.0  # 1 - p + q p = q: long products of q
    w = rng.integers(1, 6, n).astype(float) if weighted else None
    starts = rng.integers(0, n, 9)
    ends = np.minimum(starts + rng.integers(0, 400, 9), n)
    ptr = np.array([0, 2, 2, 5, 9])  # subset 1 empty
    segs = _mdss._Segments(p, w, starts, ends, ptr)
    q = np.array([0.3, 2.0, 1.0, 7.5]) if not extreme else np.array([1e-3, 1e3, 1e3, 1e-3])
    got = segs.sums(q, mode=1)
    for i in range(4):
        cells = np.concatenate(
            [np.arange(starts[r], ends[r]) for r in range(ptr[i], ptr[i + 1])] + [[]]
        ).astype(int)
        ww = np.ones(len(cells)) if w is None else w[cells]
        qp = q[i] * p[cells]
        t = qp / (1 - p[cells] + qp)
        v = t * (1 - t)
        expected = [
            np.sum(ww * t),
            np.sum(ww * v),
            np.sum(ww * v * (1 - 2 * t)),
            np.sum(ww * np.log(1 - p[cells] + qp)),
        ]
        np.testing.assert_allclose(got[:, i], expected, rtol=1e-12, atol=1e-12)
    # a restriction keeps each subset's cells and order: the same sums, bit for bit
    sub = segs.restrict([3, 0])
    np.testing.assert_array_equal(sub.sums(q[[3, 0]], mode=1), got[:, [3, 0]])
    # the sums of t alone (mode 0) and of the logs alone (mode 2) are the same numbers
    np.testing.assert_array_equal(segs.sums(q, mode=0)[:3], got[:3])
    np.testing.assert_array_equal(segs.sums(q, mode=2)[3], got[3])
    assert not segs.sums(q, mode=0)[3].any() and not segs.sums(q, mode=2)[:3].any()


@pytest.mark.parametrize("n, k, kind, weighted, seed", CASES)
def test_fast_qmle_equals_bisection(n, k, kind, weighted, seed):
    rng = np.random.default_rng(seed)
    segs, Y, N = random_segments(rng, n, k, kind=kind, weighted=weighted)
    plain = _mdss._Bernoulli._qmle_bisection(Y, segs)
    np.testing.assert_array_equal(_mdss._qmle_fast(Y, N, segs), plain)


@pytest.mark.parametrize("n, k, kind, weighted, seed", CASES)
@pytest.mark.parametrize("direction", ["negative", "positive"])
@pytest.mark.parametrize("penalty", [1e-17, 0.5, 4.0])
def test_fast_roots_equal_bisection(n, k, kind, weighted, seed, direction, penalty):
    # the zeros of each value's score either side of its q_mle, set up as the scan does
    rng = np.random.default_rng(seed)
    segs, Y, N = random_segments(rng, n, k, kind=kind, weighted=weighted)
    scorer = _mdss._Bernoulli(direction)
    q_mle = scorer.qmle(Y, N, segs)
    peak = scorer.score(Y, N, q_mle, penalty, segs)
    exist = (N > 0) & (peak > 0)
    twice = _mdss._Segments(segs.p, segs.w, np.tile(segs.starts, 2), np.tile(segs.ends, 2))
    ex2, q2 = np.tile(exist, 2), np.tile(q_mle, 2)
    lo = np.where(ex2, np.append(np.full(k, scorer.q_floor), q_mle), q2)
    hi = np.where(ex2, np.append(q_mle, np.full(k, scorer.q_ceiling)), q2)
    left = np.arange(2 * k) < k
    args = (scorer, np.tile(Y, 2), np.tile(N, 2), penalty, twice, lo, hi, left)
    fast = _mdss._roots_fast(*args, np.tile(peak, 2))
    np.testing.assert_array_equal(fast, _mdss._roots_bisection(*args))


def scan_data(n, seed, kind):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.choice(list("abcdef"), n),
            "b": rng.integers(0, 7, n),
            "c": rng.choice(["u", "v", "w"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    p = np.clip(rng.beta(2, 3, n), 0.001, 0.999)
    if kind == "ties":
        p = np.round(p, 2)
    elif kind == "extreme":
        p[rng.uniform(size=n) < 0.1] = 0.0
        p[rng.uniform(size=n) < 0.1] = 1.0
    y = (rng.uniform(size=n) < p).astype(int)
    bias = (X["a"].isin(["a", "b"]) & (X["c"] == "u")).to_numpy()
    y[bias] = (rng.uniform(size=bias.sum()) < p[bias] * 0.7).astype(int)
    y[(p == 0)] = 0
    y[(p == 1)] = 1
    return X, y, p


@pytest.mark.parametrize(
    "n, seed, kind",
    [(500, 0, "distinct"), (3000, 1, "ties"), (2000, 2, "extreme"), (12000, 3, "distinct")],
)
@pytest.mark.parametrize("overpredicted", [True, False])
@pytest.mark.parametrize("penalty", [1e-17, 0.05, 3.0])
def test_fast_scan_equals_plain_scan(monkeypatch, n, seed, kind, overpredicted, penalty):
    X, y, p = scan_data(n, seed, kind)
    kwargs = {"overpredicted": overpredicted, "penalty": penalty, "num_iters": 4}
    fast = bias_scan(X, y, p, random_state=seed, **kwargs)
    monkeypatch.setattr(_mdss, "_FAST", False)
    plain = bias_scan(X, y, p, random_state=seed, **kwargs)
    assert fast.subgroup == plain.subgroup
    assert fast.score == plain.score


@pytest.mark.parametrize("kind", ["distinct", "ties"])
def test_scan_without_presorted_copies_is_the_same(monkeypatch, kind):
    # above a memory budget the steps read the cells through their order instead of
    # from copies in each attribute's order: the same subgroup and score
    X, y, p = scan_data(3000, 7, kind)
    kwargs = {"num_iters": 4, "random_state": 2}
    with_copies = [bias_scan(X, y, p, overpredicted=o, **kwargs) for o in (True, False)]
    monkeypatch.setattr(_mdss, "_PRESORT_MAX", 0)
    without = [bias_scan(X, y, p, overpredicted=o, **kwargs) for o in (True, False)]
    assert without == with_copies
    assert with_copies[0].score > 0


@pytest.mark.parametrize("overpredicted", [True, False])
def test_fast_counts_scan_equals_plain_scan(monkeypatch, overpredicted):
    # aggregated rows: the weighted sums of bias_scan_counts
    X, y, p = scan_data(4000, 5, "ties")
    frame = X.assign(p=p, y=y)
    cells = frame.groupby(["a", "b", "c", "p"], sort=False).agg(n=("y", "size"), pos=("y", "sum"))
    cells = cells.reset_index()
    args = (cells[["a", "b", "c"]], cells["n"], cells["pos"], cells["p"])
    kwargs = {"overpredicted": overpredicted, "num_iters": 4, "random_state": 1}
    fast = _mdss.bias_scan_counts(*args, **kwargs)
    monkeypatch.setattr(_mdss, "_FAST", False)
    assert fast == _mdss.bias_scan_counts(*args, **kwargs)


def test_berk_jones_scan_unchanged_by_fast_path(monkeypatch):
    X, y, _ = scan_data(1500, 6, "distinct")
    kwargs = {"scoring": "BerkJones", "num_iters": 3, "random_state": 0}
    fast = bias_scan(X, y, **kwargs)
    monkeypatch.setattr(_mdss, "_FAST", False)
    assert fast == bias_scan(X, y, **kwargs)


@pytest.mark.parametrize("kind", ["distinct", "ties", "many levels"])
def test_cells_are_distinct_rows_sorted_by_probability_then_codes(kind):
    rng = np.random.default_rng(11)
    n = 3000
    n_levels = [300] * 8 if kind == "many levels" else [4, 3, 6]  # 300^8: key re-coded
    codes = np.column_stack([rng.integers(0, m, n) for m in n_levels])
    p = rng.uniform(size=n) if kind == "distinct" else np.round(rng.uniform(size=n), 1)
    if kind == "many levels":
        codes[1::2] = codes[::2]  # repeated rows
        p[1::2] = p[::2]
    first, inverse = _mdss._cells(p, codes, n_levels)
    # pandas: the first row of each distinct (p, codes), sorted by p then codes
    frame = pd.DataFrame(codes).assign(p=p)
    ref = frame.drop_duplicates().sort_values(["p", *range(len(n_levels))])
    np.testing.assert_array_equal(first, ref.index)
    np.testing.assert_array_equal(frame.to_numpy()[first][inverse], frame.to_numpy())
