"""Tests for fairkit.preprocessing.OptimizedPreprocessing.

Optima are worked out by hand on a one-feature problem (two groups, the label is the only
thing that can change), checked against AIF360's OptTools on a problem where both
formulations coincide, and the constraints are re-computed from the raw samples and an
independently built distortion matrix.
"""

import contextlib
import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from fairkit.preprocessing import OptimizedPreprocessing, OptimizedPreprocessingSampler

TOL = 1e-6


def two_groups(copies=1):
    """A: 2 of 10 favourable, B: 6 of 10; one constant feature, so only labels move."""
    X = pd.DataFrame({"g": ["A"] * 10 + ["B"] * 10, "x": ["a"] * 20})
    y = np.r_[[1] * 2 + [0] * 8, [1] * 6 + [0] * 4]
    return pd.concat([X] * copies, ignore_index=True), np.tile(y, copies)


# Hand solutions. Default distortion: promotion 1, demotion 3. Rates r_A = .2 + .8 a (a =
# promoted share of A's 0s), r_B = .6 - .6 e (e = demoted share of B's 1s); the TV loss is
# |p(y_hat=1) - .4| = (r_A + r_B)/2 - .4, so the optimum takes e as large as the distortion
# allows and r_A as small as the discrimination bound allows:
#   ratio eps=.1:  r_A >= max(9/11 r_B, (.55 r_B - .1)/.45)   (y_hat = 1 and y_hat = 0 rows)
#   difference eps=.05:  r_A >= r_B - .05
def test_ratio_optimum_by_hand():
    X, y = two_groups()
    op = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, max_distortion=0.45).fit(X, y)
    # E[delta | B, 1] = 3 e <= .45 -> e = .15, r_B = .51; r_A = 9/11 * .51 binds
    r_b, r_a = 0.51, 9 / 11 * 0.51
    np.testing.assert_allclose(op.group_label_rates_[:, 1], [r_a, r_b], atol=TOL)
    assert op.objective_ == pytest.approx((r_a + r_b) / 2 - 0.4, abs=TOL)  # 0.7 / 11
    assert op.solver_status_ == "optimal"
    # the mapping of B's favourable cell: demote with probability .15
    b = op.groups_.index("B")
    np.testing.assert_allclose(op.mapping_[b, 1], [0.15, 0.85], atol=TOL)
    assert op.mapping_[b, 0, 0] == pytest.approx(1.0, abs=TOL)  # B's 0s are not promoted


def test_kl_loss_same_rates_by_hand():
    X, y = two_groups()
    op = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, max_distortion=0.45,
                                utility_loss="kl").fit(X, y)
    # KL(p || p_hat) grows with p_hat(1) above .4: same optimal rates as for TV
    q = (9 / 11 * 0.51 + 0.51) / 2
    np.testing.assert_allclose(op.group_label_rates_[:, 1], [9 / 11 * 0.51, 0.51], atol=TOL)
    assert op.objective_ == pytest.approx(0.4 * math.log(0.4 / q)
                                          + 0.6 * math.log(0.6 / (1 - q)), abs=TOL)


def test_difference_optimum_by_hand():
    X, y = two_groups()
    op = OptimizedPreprocessing(prot_attr="g", epsilon=0.05, discrimination="difference",
                                max_distortion=0.45).fit(X, y)
    np.testing.assert_allclose(op.group_label_rates_[:, 1], [0.46, 0.51], atol=TOL)
    assert op.objective_ == pytest.approx(0.085, abs=TOL)


@pytest.mark.parametrize("prob, r_b", [(0.05, 0.57), (0.0, 0.6)])
def test_distortion_level_bounds_by_hand(prob, r_b):
    X, y = two_groups()
    op = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, max_distortion=None,
                                distortion_bounds=[(2.5, prob)]).fit(X, y)
    # P(demote) <= prob, promotions free: r_B = .6 (1 - prob); here the y_hat = 0 row binds
    r_a = (0.55 * r_b - 0.1) / 0.45
    np.testing.assert_allclose(op.group_label_rates_[:, 1], [r_a, r_b], atol=TOL)
    assert op.objective_ == pytest.approx((r_a + r_b) / 2 - 0.4, abs=TOL)  # 11/90, 7/45
    b = op.groups_.index("B")
    assert op.mapping_[b, 1, 0] <= prob + TOL
    if prob == 0:
        assert op.mapping_[b, 1, 0] == 0.0  # a forbidden move is not even a variable


def test_infeasible_raises_and_leaves_estimator_unfitted():
    X, y = two_groups()
    # e <= .1 gives r_B >= .54, which needs r_A >= .4886 > .2 + .8 * .3 = .44
    op = OptimizedPreprocessing(prot_attr="g", epsilon=0.05, max_distortion=0.3)
    with pytest.raises(ValueError, match=r"infeasible.*CLARABEL.*'infeasible'.*epsilon=0.05"):
        op.fit(X, y)
    with pytest.raises(NotFittedError):
        op.transform(X)
    op.set_params(epsilon=0.2).fit(X, y)  # feasible
    op.set_params(epsilon=0.05)
    with pytest.raises(ValueError, match="infeasible"):
        op.fit(X, y)
    assert not hasattr(op, "mapping_")  # the failed refit did not keep the old model
    with pytest.raises(NotFittedError):
        op.transform(X)


def random_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.choice(["p", "q", "r"], size=n, p=[0.5, 0.3, 0.2])
    a = rng.integers(0, 3, n)
    b = rng.choice(["lo", "mid", "hi"], size=n)
    p = 0.15 + 0.25 * (d == "p") + 0.15 * (a == 2)
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"a": a, "d": d, "b": b}), y


def default_distortion(cells):
    """Independent build: changed features + 1 (promotion) or 3 (demotion)."""
    k = len(cells)
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            out[i, j] = int(cells.iloc[i]["a"] != cells.iloc[j]["a"]) + int(
                cells.iloc[i]["b"] != cells.iloc[j]["b"])
            yo, yn = cells.iloc[i]["label"], cells.iloc[j]["label"]
            out[i, j] += 0 if yo == yn else (3 if yo == 1 else 1)
    return out


@pytest.mark.parametrize("discrimination, eps", [("ratio", 0.05), ("difference", 0.02)])
def test_constraints_hold_on_samples(discrimination, eps):
    X, y = random_data()
    bounds = [(1.5, 0.2), (2.5, 0.05)]
    op = OptimizedPreprocessing(prot_attr="d", epsilon=eps, discrimination=discrimination,
                                max_distortion=0.8, distortion_bounds=bounds).fit(X, y)
    cells = op.cells_
    assert cells.shape == (3 * 3 * 2, 3)
    delta = default_distortion(cells)
    np.testing.assert_array_equal(op.distortion_matrix_, delta)
    # every row of the mapping is a probability distribution
    assert (op.mapping_ >= 0).all()
    np.testing.assert_allclose(op.mapping_.sum(axis=2), 1.0, atol=1e-12)
    # each sample's own row of the mapping, found by matching its values in cells_
    key = {tuple(r): k for k, r in enumerate(cells.itertuples(index=False))}
    cell = np.array([key[(a, b, lab)] for a, b, lab in zip(X["a"], X["b"], y, strict=True)])
    g = np.array([op.groups_.index(v) for v in X["d"]])
    rows = op.mapping_[g, cell]  # (n, n_cells)
    # distortion: per sample (hence per observed (d, x, y)) expectation and levels
    exp_dist = (rows * delta[cell]).sum(axis=1)
    assert exp_dist.max() <= 0.8 + TOL
    for level, prob in bounds:
        assert (rows * (delta[cell] >= level)).sum(axis=1).max() <= prob + TOL
    # discrimination, from the sample averages
    p_hat1 = rows[:, cells["label"].to_numpy() == 1].sum(axis=1)
    rate = pd.Series(p_hat1).groupby(X["d"].to_numpy()).mean()
    np.testing.assert_allclose(rate.to_numpy(), op.group_label_rates_[:, 1], atol=1e-9)
    if discrimination == "ratio":
        marginal1 = p_hat1.mean()
        for r, m in ((rate, marginal1), (1 - rate, 1 - marginal1)):
            assert (np.abs(r / m - 1) <= eps + TOL).all()
        # the bound binds for the disadvantaged groups (else no mitigation was needed)
        assert np.abs(rate / marginal1 - 1).max() == pytest.approx(eps, abs=1e-5)
    else:
        assert rate.max() - rate.min() <= eps + TOL
        assert rate.max() - rate.min() == pytest.approx(eps, abs=1e-5)
    # without mitigation the rates were far apart
    raw = pd.Series(y).groupby(X["d"].to_numpy()).mean()
    assert raw.max() - raw.min() > 0.15


def test_optimum_equals_aif360_opttools():
    """Where each (x, y) occurs in one group only, AIF360's distortion bounds (per (x, y),
    averaged over groups) equal ours (per (d, x, y)), so the optimal TV values agree."""
    opt_tools = pytest.importorskip(
        "aif360.algorithms.preprocessing.optim_preproc_helpers.opt_tools")
    rng = np.random.default_rng(3)
    n = 300
    x = rng.integers(0, 4, n)
    d = (x >= 2).astype(int)  # the feature determines the group
    y = (rng.random(n) < 0.2 + 0.35 * d + 0.1 * (x % 2)).astype(int)

    def dist(xo, yo, xn, yn):
        return float(xo["x"] != xn["x"]) + (2.0 if yo > yn else 0.0)

    bounds = [(0.99, 0.3), (1.99, 0.1)]
    ours = OptimizedPreprocessing(prot_attr="d", epsilon=0.05, discrimination="difference",
                                  distortion=dist, max_distortion=None,
                                  distortion_bounds=bounds).fit(
        pd.DataFrame({"x": x, "d": d}), y)
    tools = opt_tools.OptTools(df=pd.DataFrame({"x": x, "y": y, "d": d}),
                               features=["x", "y", "d"])
    tools.set_features(D=["d"], X=["x"], Y=["y"])
    tools.set_distortion(lambda o, nw: dist(o, o["y"], nw, nw["y"]),
                         clist=[c for c, _ in bounds])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        tools.optimize(epsilon=0.05, dlist=[p for _, p in bounds], verbose=False)
    assert tools.optimum > 0.01  # the constraints cost something
    assert ours.objective_ == pytest.approx(tools.optimum, abs=1e-6)


def test_resample_follows_mapping_and_is_reproducible():
    X, y = two_groups(copies=300)  # 6000 rows
    op = OptimizedPreprocessingSampler(prot_attr="g", epsilon=0.1, max_distortion=0.45,
                                       random_state=0)
    Xr, yr = op.fit_resample(X, pd.Series(y, name="income"))
    assert isinstance(yr, pd.Series) and yr.name == "income"
    pd.testing.assert_frame_equal(Xr, X)  # one-level feature, protected column untouched
    rate = yr.groupby(X["g"]).mean()
    # 3000 rows per group: binomial sd <= .0092; expected rates 4.59/11 and .51
    np.testing.assert_allclose(rate.to_numpy(), [9 / 11 * 0.51, 0.51], atol=0.035)
    # B's part of the optimum is unique: its 0s stay, its 1s drop with probability .15
    # (A's is not: demoting some of A's 1s and promoting more 0s costs the same)
    assert (yr[(X["g"] == "B") & (y == 0)] == 0).all()
    assert (yr[(X["g"] == "B") & (y == 1)] == 0).mean() == pytest.approx(0.15, abs=0.05)
    _, yr2 = op.fit_resample(X, y)
    np.testing.assert_array_equal(yr2, yr.to_numpy())  # same random_state, same draws
    _, yr3 = op.set_params(random_state=1).fit_resample(X, y)
    assert (yr3 != yr2).any()
    # the transformer solves the same program: same fitted map
    tr = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, max_distortion=0.45).fit(X, y)
    np.testing.assert_array_equal(tr.mapping_rows_, op.mapping_rows_)
    assert tr.objective_ == op.objective_


def test_sampler_in_imblearn_pipeline():
    # imbalanced-learn's Pipeline accepts the sampler (fit_resample, no transform): the
    # model is fitted on fit_resample's output, and predict sees the rows as given
    imb_pipeline = pytest.importorskip("imblearn.pipeline")
    X, y = random_data(n=400, seed=4)
    params = dict(prot_attr="d", epsilon=0.05, random_state=0)
    pipe = imb_pipeline.Pipeline([
        ("repair", OptimizedPreprocessingSampler(**params)),
        ("model", make_pipeline(OneHotEncoder(), LogisticRegression())),
    ]).fit(X, y)
    Xr, yr = OptimizedPreprocessingSampler(**params).fit_resample(X, y)
    assert (yr != y).any()  # the training labels really changed
    by_hand = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(Xr, yr)
    np.testing.assert_allclose(pipe[-1][-1].coef_, by_hand[-1].coef_, rtol=1e-10)
    np.testing.assert_array_equal(pipe.predict(X), by_hand.predict(X))
    # the transformer has transform and no fit_resample, the sampler the reverse
    assert not hasattr(OptimizedPreprocessing(), "fit_resample")
    assert not hasattr(OptimizedPreprocessingSampler(), "transform")
    # the transformer is an ordinary step of the same pipeline (imblearn refused the old
    # class, which had both transform and fit_resample)
    imb_pipeline.Pipeline([("map", OptimizedPreprocessing(**params)),
                           ("model", make_pipeline(OneHotEncoder(), LogisticRegression()))]
                          ).fit(X, y)


def test_set_output_pandas_and_keyword_only():
    X, y = two_groups()
    Xa = X.to_numpy()  # object array: strings in both columns
    op = OptimizedPreprocessing(prot_attr=0, epsilon=0.2).set_output(transform="pandas")
    out = op.fit(Xa, y).transform(Xa)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1"]
    assert out["x0"].tolist() == Xa[:, 0].tolist() and out["x1"].tolist() == ["a"] * 20
    out = op.fit_transform(Xa, y)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1"]
    df = OptimizedPreprocessing(prot_attr="g", epsilon=0.2).set_output(
        transform="pandas").fit(X, y).transform(X.set_index(np.arange(5, 25)))
    assert list(df.columns) == ["g", "x"] and df.index[0] == 5
    assert op.groups_ == ["A", "B"] and op.prot_attr_names_ == ["x0"]
    with pytest.raises(TypeError, match="positional"):
        OptimizedPreprocessing("g")
    with pytest.raises(TypeError, match="positional"):
        OptimizedPreprocessing(prot_attr="g").fit(X, y, X["g"])


def test_transform_features_pandas_in_out_and_unseen_combination():
    X, y = random_data(n=300, seed=1)
    keep = ~((X["d"] == "r") & (X["a"] == 0) & (X["b"] == "lo"))  # absent combination
    X, y = X[keep].reset_index(drop=True), y[keep.to_numpy()]
    X.index = np.arange(1000, 1000 + len(X))
    X["a"] = X["a"].astype("int32")
    op = OptimizedPreprocessing(prot_attr="d", epsilon=0.05, random_state=0).fit(X, y)
    Xt = op.transform(X)
    assert list(Xt.columns) == ["a", "d", "b"]
    assert (Xt.index == X.index).all()
    assert Xt.dtypes.to_dict() == X.dtypes.to_dict()
    assert (Xt["d"] == X["d"]).all()
    assert set(Xt["a"]) <= {0, 1, 2} and set(Xt["b"]) <= {"lo", "mid", "hi"}
    np.testing.assert_array_equal(op.get_feature_names_out(), ["a", "d", "b"])
    # feature_mapping_ rows are distributions: the y-average of mapping_ marginals
    np.testing.assert_allclose(op.feature_mapping_.sum(axis=2), 1.0, atol=1e-12)
    # a (group, x) combination absent from fit is left unchanged
    new = pd.DataFrame({"a": np.zeros(5, dtype="int32"), "d": ["r"] * 5, "b": ["lo"] * 5})
    pd.testing.assert_frame_equal(op.transform(new), new)
    cell = op.cells_.index[(op.cells_["a"] == 0) & (op.cells_["b"] == "lo")
                           & (op.cells_["label"] == 0)][0] // 2
    fm = op.feature_mapping_[op.groups_.index("r")]
    assert fm[cell, cell] == 1.0
    # ... while seen combinations do move: some row of the map is not the identity
    assert (np.diag(op.feature_mapping_[op.groups_.index("q")]) < 1 - 1e-3).any()
    # array input, numeric: float array out; set_output gives a DataFrame
    Xn = np.c_[X["a"], (X["d"] == "p").astype(int), X["b"].map({"lo": 0, "mid": 1, "hi": 2})]
    opn = OptimizedPreprocessing(prot_attr=1, random_state=0).fit(Xn, y)
    out = opn.transform(Xn)
    assert out.dtype == np.float64 and out.shape == Xn.shape
    np.testing.assert_array_equal(out[:, 1], Xn[:, 1])
    df = opn.set_output(transform="pandas").transform(Xn)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["x0", "x1", "x2"]


def test_sensitive_features_route_gives_same_solution():
    X, y = random_data(n=200, seed=2)
    a = OptimizedPreprocessing(prot_attr="d").fit(X, y)
    b = OptimizedPreprocessing().fit(X.drop(columns="d"), y, sensitive_features=X["d"])
    np.testing.assert_allclose(b.group_label_rates_, a.group_label_rates_, atol=1e-6)
    assert b.objective_ == pytest.approx(a.objective_, abs=1e-7)
    out = b.transform(X.drop(columns="d"), sensitive_features=X["d"])
    assert list(out.columns) == ["a", "b"]


def test_n_bins_cuts_at_quantiles_and_returns_bin_medians():
    X = pd.DataFrame({"g": [0, 1] * 4, "v": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    y = [0, 1, 0, 1, 0, 1, 1, 1]
    op = OptimizedPreprocessing(prot_attr="g", n_bins=2, epsilon=1.0,
                                random_state=0).fit(X, y)
    # median 4.5 splits {1..4} and {5..8}; levels are the bin medians 2.5 and 6.5
    np.testing.assert_allclose(op.bin_edges_[1 - 1], [4.5])
    np.testing.assert_allclose(op.feature_levels_[0], [2.5, 6.5])
    out = op.transform(pd.DataFrame({"g": [0, 1], "v": [-100.0, 100.0]}))
    assert set(out["v"]) <= {2.5, 6.5}
    with pytest.raises(ValueError, match="300 distinct values .*Bin it first.*n_bins"):
        OptimizedPreprocessing(prot_attr="g").fit(
            pd.DataFrame({"g": np.arange(300) % 2, "v": np.arange(300) * 0.5}),
            np.arange(300) % 2)


def test_mitigation_lowers_spd_in_a_model_pipeline():
    rng = np.random.default_rng(0)

    def make(n):
        sex = rng.choice(["F", "M"], n)
        edu = rng.integers(0, 3, n)
        y = (rng.random(n) < 0.1 + 0.3 * (sex == "M") + 0.15 * edu).astype(int)
        return pd.DataFrame({"sex": sex, "edu": edu}), y

    (Xtr, ytr), (Xte, _) = make(3000), make(3000)

    def spd(pred, sex):
        return pred[sex == "F"].mean() - pred[sex == "M"].mean()

    model = make_pipeline(OneHotEncoder(), LogisticRegression())
    before = spd(model.fit(Xtr, ytr).predict(Xte), Xte["sex"].to_numpy())
    op = OptimizedPreprocessing(prot_attr="sex", random_state=0).fit(Xtr, ytr)
    Xres, yres = OptimizedPreprocessingSampler(prot_attr="sex", random_state=0).fit_resample(
        Xtr, ytr)
    after = spd(model.fit(Xres, yres).predict(op.transform(Xte)), Xte["sex"].to_numpy())
    assert before < -0.25  # the model reproduces the 30-point gap
    assert abs(after) < 0.1


def test_bad_input():
    X, y = two_groups()
    op = OptimizedPreprocessing(prot_attr="g").fit(X, y)
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['g'\] not found"):
        op.transform(X.drop(columns="g"))
    with pytest.raises(ValueError, match="Group 'C' .* not seen during fit"):
        op.transform(pd.DataFrame({"g": ["C"], "x": ["a"]}))
    with pytest.raises(ValueError, match=r"Feature 'x' has value\(s\) \['z'\] not seen"):
        op.transform(pd.DataFrame({"g": ["A"], "x": ["z"]}))
    with pytest.raises(ValueError, match="'epsilon' parameter .* Got -0.1"):
        OptimizedPreprocessing(prot_attr="g", epsilon=-0.1).fit(X, y)
    Xnan = X.assign(x=[np.nan] + [1.0] * 19)
    with pytest.raises(ValueError, match="Feature 'x' of X contains NaN"):
        OptimizedPreprocessing(prot_attr="g").fit(Xnan, y)
    with pytest.raises(ValueError, match="sensitive_features contains missing values|"
                                         "contains missing values"):
        OptimizedPreprocessing(prot_attr="g").fit(X.assign(g=[None] + ["A"] * 19), y)
    with pytest.raises(ValueError, match="shape \\(3, 3\\).*must be \\(2, 2\\)"):
        OptimizedPreprocessing(prot_attr="g", distortion=np.zeros((3, 3))).fit(X, y)
    with pytest.raises(ValueError, match="to itself must be 0"):
        OptimizedPreprocessing(prot_attr="g", distortion=np.ones((2, 2))).fit(X, y)
    with pytest.raises(ValueError, match="distortion_bounds entry"):
        OptimizedPreprocessing(prot_attr="g", distortion_bounds=[(0, 0.1)]).fit(X, y)
    with pytest.raises(ValueError, match="pos_label=5 is not among the values of y"):
        OptimizedPreprocessing(prot_attr="g", pos_label=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 20 rows but y has 3"):
        OptimizedPreprocessing(prot_attr="g").fit(X, [0, 1, 0])
