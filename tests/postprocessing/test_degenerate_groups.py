"""A group whose fitting rows hold one label is left out of a post-processor's rule (the
layer, ``fairkit.base.BasePostProcessor``), and a rule that ends constant warns.

Every post-processor is checked on synthetic data with a tiny group (a few percent of the
rows) that has one label: the fit warns naming the group, the group's rows get the wrapped
model's own decisions (an independently fitted scikit-learn ``LogisticRegression``), and the
other groups' decisions equal those of the same post-processor fitted without the tiny
group's rows.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from fairkit.base import ConstantFitWarning, GroupLeftOutWarning
from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    RejectOptionClassifier,
    ThresholdOptimizer,
)


class PerGroupRejectOption(RejectOptionClassifier):
    """The reject option under the per-group policy of the other post-processors (it pools
    the groups, so it keeps a group with one label; this checks its part of the layer's
    contract, the rule codes and the privileged mask, for a left-out group)."""

    _rule_needs_both_labels_per_group = True


FACTORIES = {
    "ThresholdOptimizer": lambda **kw: ThresholdOptimizer(random_state=0, **kw),
    "EqualizedOddsPostprocessor": lambda **kw: EqualizedOddsPostprocessor(random_state=0, **kw),
    "CalibratedEqualizedOdds": lambda **kw: CalibratedEqualizedOdds(random_state=0, **kw),
    "PerGroupRejectOption": lambda **kw: PerGroupRejectOption(priv_group=0.0, **kw),
    "RejectOptionClassifier": lambda **kw: RejectOptionClassifier(priv_group=0.0, **kw),
}
#: the post-processors that leave out a group with one label
NAMES = [
    "ThresholdOptimizer",
    "EqualizedOddsPostprocessor",
    "CalibratedEqualizedOdds",
    "PerGroupRejectOption",
]
#: the public ones
PUBLIC = [
    "ThresholdOptimizer",
    "EqualizedOddsPostprocessor",
    "CalibratedEqualizedOdds",
    "RejectOptionClassifier",
]


def make_data(n=600, *, tiny_share=0.05, tiny_label=0, scale="raw", pos_shift=0.0, seed=0):
    """Column 0: group 0..3 (group 3 holds ``tiny_share`` of the rows, all with label
    ``tiny_label``); columns 1-3: features; y depends on the features and the group."""
    rng = np.random.RandomState(seed)
    n_tiny = max(2, int(round(tiny_share * n)))
    g = np.r_[rng.choice(3, n - n_tiny, p=[0.45, 0.35, 0.2]), np.full(n_tiny, 3)]
    x = rng.normal(size=(n, 3))
    if scale == "raw":
        x = x * [1.0, 20.0, 300.0] + [0.0, 50.0, 1000.0]
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (z[:, 0] + 0.5 * z[:, 1] + 0.4 * g + rng.normal(size=n) > 0.5 + pos_shift).astype(int)
    y[g == 3] = tiny_label
    order = rng.permutation(n)  # the tiny group's rows are spread over the data
    return np.c_[g, x][order], y[order]


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GroupLeftOutWarning)
        return est.fit(X, y, **kw)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("n", "scale", "tiny_label"), [(600, "std", 0), (2000, "raw", 0), (1000, "std", 1)]
)
def test_left_out_group_gets_the_model_and_the_rest_the_rule(name, n, scale, tiny_label):
    X, y = make_data(n, scale=scale, tiny_label=tiny_label, seed=n)
    tiny = X[:, 0] == 3
    feats = X[:, 1:]
    model = LogisticRegression(max_iter=1000).fit(feats, y)  # sees the features only
    make = FACTORIES[name]
    params = dict(prot_attr=0, drop_prot_attr=True, prefit=True, cv=None)
    pp = make(estimator=model, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)  # the rule learns here
        with pytest.warns(GroupLeftOutWarning) as rec:
            pp.fit(X, y)
    msgs = [str(w.message) for w in rec if issubclass(w.category, GroupLeftOutWarning)]
    assert len(msgs) == 1
    assert (
        f"{name}: group 3.0 has only label {tiny_label} among its {int(tiny.sum())} "
        "rule-fitting row(s)"
    ) in msgs[0]
    assert "unmitigated model's decisions" in msgs[0]
    assert pp.groups_ == [0.0, 1.0, 2.0, 3.0] and pp.groups_left_out_ == [3.0]

    # the tiny group's rows: the wrapped model's own decisions, and probabilities
    own = LogisticRegression(max_iter=1000).fit(feats, y)
    np.testing.assert_array_equal(pp.predict(X)[tiny], own.predict(feats[tiny]))
    if name == "PerGroupRejectOption":
        # no predict_proba; its margin on those rows is the score against the model's 0.5
        np.testing.assert_allclose(
            pp.decision_function(X)[tiny], own.predict_proba(feats[tiny])[:, 1] - 0.5, rtol=1e-6
        )
    else:
        np.testing.assert_allclose(
            pp.predict_proba(X)[tiny], own.predict_proba(feats[tiny]), rtol=1e-6
        )

    # the other rows: the rule fitted without the tiny group's rows (same model, same
    # random_state); a randomised rule draws for these rows alone, in their order
    ref = make(estimator=model, **params).fit(X[~tiny], y[~tiny])
    assert ref.groups_ == [0.0, 1.0, 2.0] and ref.groups_left_out_ == []
    np.testing.assert_array_equal(pp.predict(X)[~tiny], ref.predict(X[~tiny]))
    if name == "PerGroupRejectOption":
        np.testing.assert_array_equal(
            pp.decision_function(X)[~tiny], ref.decision_function(X[~tiny])
        )
        assert (pp.threshold_, pp.margin_) == (ref.threshold_, ref.margin_)
        np.testing.assert_array_equal(pp.privileged_groups_, [True, False, False, False])
    else:
        np.testing.assert_array_equal(pp.predict_proba(X)[~tiny], ref.predict_proba(X[~tiny]))
    if name == "EqualizedOddsPostprocessor":
        np.testing.assert_array_equal(pp.mixing_rates_, ref.mixing_rates_)
    if name == "CalibratedEqualizedOdds":
        np.testing.assert_array_equal(pp.mix_rates_, ref.mix_rates_)
        np.testing.assert_array_equal(pp.base_rates_, ref.base_rates_)
    # the rule does act on the other groups: it is not the model's own decisions there
    if name != "CalibratedEqualizedOdds":  # Pleiss et al. may leave a group's scores as is
        assert (pp.predict(X)[~tiny] != own.predict(feats[~tiny])).any()
    # the tiny group alone: every row is the model's
    np.testing.assert_array_equal(pp.predict(X[tiny]), own.predict(feats[tiny]))


@pytest.mark.parametrize("name", NAMES)
def test_fitted_model_and_cross_fitting_with_a_left_out_group(name):
    # the default path (the model fitted here, cv="auto"): the tiny group's 3 rows do not
    # lower the folds (they are stratified with their label in the largest group), and
    # its rows get the fitted model's decisions, equal to scikit-learn's own fit
    X, y = make_data(800, tiny_share=3 / 800, seed=3)
    tiny = X[:, 0] == 3
    assert tiny.sum() == 3
    pp = FACTORIES[name](
        estimator=LogisticRegression(max_iter=1000), prot_attr=0, drop_prot_attr=True
    )
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        pp.fit(X, y)
    left = [w for w in rec if issubclass(w.category, GroupLeftOutWarning)]
    assert len(left) == 1 and "group 3.0 has only label 0 among its 3 " in str(left[0].message)
    assert not [w for w in rec if "folds" in str(w.message)]
    assert pp.cv_ == 5
    own = LogisticRegression(max_iter=1000).fit(X[:, 1:], y)
    np.testing.assert_array_equal(pp.predict(X)[tiny], own.predict(X[tiny, 1:]))


@pytest.mark.parametrize("name", PUBLIC)
def test_the_benchmark_case_fits(name):
    # bench_robustness.py's failing configuration: 500 rows, 4 groups, one of 5%, a 5%
    # positive rate, so the small group has no positive row
    X, y = make_data(500, tiny_share=0.05, pos_shift=2.1, seed=1)
    assert 0.02 < y.mean() < 0.08 and y[X[:, 0] == 3].sum() == 0
    pp = FACTORIES[name](estimator=LogisticRegression(max_iter=1000), prot_attr=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer folds, constant fits: not the point here
        pp.fit(X, y)
    # the reject option pools the groups: the small group is kept, in the unprivileged side
    assert pp.groups_left_out_ == ([] if name == "RejectOptionClassifier" else [3.0])
    assert pp.predict(X).shape == (500,)


@pytest.mark.parametrize("name", NAMES)
def test_fewer_than_two_usable_groups_raise_naming_them(name):
    X, y = make_data(600, seed=4)
    g = X[:, 0]
    y = np.where(g == 1, 0, np.where(g == 2, 1, y))  # group 1: label 0, group 2: label 1
    y[g == 3] = 0
    n1, n2 = int((g == 1).sum()), int((g == 2).sum())
    pp = FACTORIES[name](estimator=LogisticRegression(), prot_attr=0, cv=None)
    with pytest.raises(
        ValueError,
        match=(
            rf"{name}: only 1 group\(s\) have both labels among their rule-fitting rows; "
            r"the rule needs at least 2 .*"
            rf"1\.0 \(label 0: {n1} row\(s\), label 1: 0 row\(s\)\); "
            rf"2\.0 \(label 0: 0 row\(s\), label 1: {n2} row\(s\)\)"
        ),
    ):
        pp.fit(X, y)


def test_string_groups_and_routed_sensitive_features():
    X, y = make_data(900, seed=5)
    names = np.array(["north", "south", "east", "islands"])[X[:, 0].astype(int)]
    feats = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"])
    model = LogisticRegression(max_iter=1000).fit(feats, y)
    pp = EqualizedOddsPostprocessor(model, prefit=True, random_state=0)
    with pytest.warns(GroupLeftOutWarning, match="group 'islands' has only label 0"):
        pp.fit(feats, y, sensitive_features=names)
    assert pp.groups_left_out_ == ["islands"] and pp.mixing_rates_.shape == (3, 2)
    tiny = names == "islands"
    np.testing.assert_array_equal(
        pp.predict(feats, sensitive_features=names)[tiny], model.predict(feats[tiny])
    )


def test_a_label_of_zero_weight_does_not_count():
    # group 2's positive rows all have weight 0: the LP would divide by a zero weight of
    # positives, so the group is left out, and the message says the rows are weighted
    X, y = make_data(900, seed=6)
    g = X[:, 0]
    w = np.where((g == 2) & (y == 1), 0.0, 1.0)
    n2 = int(((g == 2) & (y == 0)).sum())
    model = LogisticRegression(max_iter=1000).fit(X[:, 1:], y)
    pp = EqualizedOddsPostprocessor(
        model, prot_attr=0, drop_prot_attr=True, prefit=True, random_state=0
    )
    with pytest.warns(GroupLeftOutWarning) as rec:
        pp.fit(X, y, sample_weight=w)
    msgs = sorted(str(r.message) for r in rec if issubclass(r.category, GroupLeftOutWarning))
    assert pp.groups_left_out_ == [2.0, 3.0]
    assert (
        f"group 2.0 has only label 0 among its {n2} rule-fitting row(s) of positive sample_weight"
    ) in msgs[0]


def test_reject_option_keeps_a_group_with_one_label_in_its_side():
    # the search pools unprivileged rows: the tiny group (label 0 only) is not left out
    # and gets the unprivileged cut t - m on the model's score
    X, y = make_data(1000, seed=9)
    tiny = X[:, 0] == 3
    model = LogisticRegression(max_iter=1000).fit(X[:, 1:], y)
    roc = RejectOptionClassifier(model, prot_attr=0, drop_prot_attr=True, prefit=True, priv_group=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GroupLeftOutWarning)
        roc.fit(X, y)
    assert roc.groups_left_out_ == []
    score = model.predict_proba(X[tiny, 1:])[:, 1]
    np.testing.assert_allclose(
        roc.decision_function(X)[tiny], score - (roc.threshold_ - roc.margin_), rtol=1e-9
    )
    np.testing.assert_array_equal(
        roc.predict(X)[tiny], (score > roc.threshold_ - roc.margin_).astype(int)
    )
    # a privileged side with one label is still a clear error where the metric needs
    # the other: equal opportunity needs privileged positives
    y_bad = np.where(X[:, 0] == 0, 0, y)
    with pytest.raises(ValueError, match="privileged samples with label"):
        RejectOptionClassifier(
            model,
            prot_attr=0,
            drop_prot_attr=True,
            prefit=True,
            priv_group=0,
            metric="equal_opportunity",
        ).fit(X, y_bad)


def test_reject_option_cannot_leave_out_the_privileged_group():
    # under the per-group policy, the privileged side cannot be left out
    X, y = make_data(600, seed=7)
    model = LogisticRegression(max_iter=1000).fit(X[:, 1:], y)
    params = dict(prot_attr=0, drop_prot_attr=True, prefit=True)
    with pytest.warns(GroupLeftOutWarning, match="group 3.0"):
        with pytest.raises(
            ValueError,
            match=r"every privileged group \(\[3\.0\]; "
            r"priv_group=3\).*cannot be left out",
        ):
            PerGroupRejectOption(model, priv_group=3, **params).fit(X, y)
    with pytest.warns(GroupLeftOutWarning, match="group 3.0"):
        with pytest.raises(
            ValueError,
            match=r"every unprivileged group \(\[3\.0\]; .*"
            r"the unprivileged group cannot be left out",
        ):
            PerGroupRejectOption(model, priv_group=[0, 1, 2], **params).fit(X, y)
    # one of two privileged groups left out: the other one is still compared
    roc = _fit(PerGroupRejectOption(model, priv_group=[0, 3], **params), X, y)
    np.testing.assert_array_equal(roc.privileged_groups_, [True, False, False, True])
    tiny = X[:, 0] == 3
    np.testing.assert_array_equal(roc.predict(X)[tiny], model.predict(X[tiny, 1:]))


# ---------------------------------------------------------------------------------------
# a rule that ends constant warns, naming the parameters that can cause it
# ---------------------------------------------------------------------------------------


def _unrelated(n=1000, pos_rate=0.05, seed=8):
    # labels independent of the features, 5% positive: the model predicts the majority
    rng = np.random.RandomState(seed)
    g = rng.randint(0, 2, n)
    y = (rng.random_sample(n) < pos_rate).astype(int)
    return np.c_[g, rng.normal(size=(n, 2))], y


@pytest.mark.parametrize("n", [600, 3000])
def test_equalized_odds_on_unrelated_labels_warns_constant(n):
    X, y = _unrelated(n)
    model = LogisticRegression().fit(X[:, 1:], y)
    assert (model.predict(X[:, 1:]) == 0).all()
    eo = EqualizedOddsPostprocessor(
        model, prot_attr=0, drop_prot_attr=True, prefit=True, random_state=0
    )
    majority = 1 - y.mean()
    with pytest.warns(ConstantFitWarning) as rec:
        eo.fit(X, y)
    rec = [w for w in rec if issubclass(w.category, ConstantFitWarning)]
    assert len(rec) == 1
    msg = str(rec[0].message)
    # h = 0 everywhere: TPR_a = FPR_a = p[a, 0]; the accuracy optimum is p = 0 (class 0)
    np.testing.assert_array_equal(eo.mixing_rates_[:, 0], [0.0, 0.0])
    assert msg.startswith(
        "EqualizedOddsPostprocessor: the fit of the rule ended with a "
        "constant model: it predicts class 0 for every training row"
    )
    assert (
        f"Training accuracy {majority:.4f} against a majority-class rate of {majority:.4f}" in msg
    )
    assert "objective='accuracy'" in msg and "estimator=LogisticRegression()" in msg
    assert f"The wrapped model alone gives 1 to 0 of these {n} rows." in msg
    assert rec[0].filename == __file__  # points at the caller of fit


@pytest.mark.filterwarnings("ignore:CalibratedEqualizedOdds. group.* cannot reach:UserWarning")
@pytest.mark.parametrize(
    ("name", "kw", "param"),
    [
        ("ThresholdOptimizer", {}, "constraints='demographic_parity'"),
        ("CalibratedEqualizedOdds", {"threshold": 1.0}, "threshold=1.0"),
        (
            "RejectOptionClassifier",
            {"threshold_range": (0.98, 0.99)},
            "threshold_range=(0.98, 0.99)",
        ),
    ],
)
def test_a_constant_rule_warns(name, kw, param):
    # ThresholdOptimizer: unrelated labels, 5% positive; CalibratedEqualizedOdds: no score
    # reaches threshold=1; RejectOptionClassifier: every cut is above 0.96 while the
    # model's scores stay below 0.3
    X, y = _unrelated(1000)
    model = LogisticRegression().fit(X[:, 1:], y)
    assert model.predict_proba(X[:, 1:])[:, 1].max() < 0.3
    pp = FACTORIES[name](estimator=model, prot_attr=0, drop_prot_attr=True, prefit=True, **kw)
    with pytest.warns(
        ConstantFitWarning,
        match=rf"^{name}: the fit of the rule ended with "
        r"a constant model",
    ) as rec:
        pp.fit(X, y)
    const = [w for w in rec if issubclass(w.category, ConstantFitWarning)]
    assert len(const) == 1 and param in str(const[0].message)
    assert (pp.predict(X) == 0).all()


@pytest.mark.parametrize("name", PUBLIC)
def test_a_rule_that_learns_does_not_warn_constant(name):
    for n, scale in ((600, "raw"), (2000, "std")):
        X, y = make_data(n, scale=scale, tiny_share=0.0, seed=n + 1)
        X[X[:, 0] == 3, 0] = 2  # no tiny group
        pp = FACTORIES[name](
            estimator=LogisticRegression(max_iter=1000), prot_attr=0, drop_prot_attr=True
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConstantFitWarning)
            warnings.simplefilter("error", GroupLeftOutWarning)
            pp.fit(X, y)
        assert pp.groups_left_out_ == []
