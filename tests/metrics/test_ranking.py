"""Ranking fairness metrics against hand-worked values, scipy and scikit-learn's DCG."""

import math

import numpy as np
import pytest
from scipy.special import rel_entr
from sklearn.metrics import dcg_score

from fairkit.metrics.ranking import (
    exposure_ratio,
    group_exposure,
    max_skew_at_k,
    min_skew_at_k,
    ndkl,
    skew_at_k,
)
from fairkit.postprocessing import DeterministicReranker

L2 = 1 / math.log2(3)  # position-2 discount
L4 = 1 / math.log2(5)  # position-4 discount


def test_skew_hand_worked():
    ranked = ["a", "a", "b", "a"]  # pool shares a 3/4, b 1/4
    skew = skew_at_k(ranked, k=2)
    assert skew["a"] == pytest.approx(math.log(1 / 0.75))
    assert skew["b"] == -math.inf
    assert skew_at_k(ranked, k=4) == {"a": pytest.approx(0), "b": pytest.approx(0)}
    # k = 3: a 2/3 against 1/2, b 1/3 against 1/2
    skew = skew_at_k(ranked, k=3, target_prop={"a": 0.5, "b": 0.5})
    assert skew["a"] == pytest.approx(math.log(4 / 3))
    assert skew["b"] == pytest.approx(math.log(2 / 3))
    assert min_skew_at_k(ranked, k=3, target_prop={"a": 0.5, "b": 0.5}) == pytest.approx(
        math.log(2 / 3)
    )
    assert max_skew_at_k(ranked, k=3, target_prop={"a": 0.5, "b": 0.5}) == pytest.approx(
        math.log(4 / 3)
    )


def test_skew_orders_by_score():
    groups = ["b", "a", "a", "a"]
    scores = [0.1, 0.9, 0.8, 0.7]  # ranked a, a, a, b
    assert skew_at_k(groups, k=2, y_score=scores) == skew_at_k(["a", "a", "a", "b"], k=2)


def test_ndkl_hand_worked():
    # target 1/2 each. Prefix distributions of a, a, b, b: (1, 0), (1, 0), (2/3, 1/3),
    # (1/2, 1/2), KL to (1/2, 1/2): log 2, log 2, 2/3 log(4/3) + 1/3 log(2/3), 0;
    # discounts 1, 1/log2(3), 1/2, 1/log2(5)
    kl3 = 2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3)
    z = 1 + L2 + 0.5 + L4
    assert ndkl(["a", "a", "b", "b"]) == pytest.approx(
        (math.log(2) + L2 * math.log(2) + 0.5 * kl3) / z
    )
    # alternating: log 2, 0, kl3, 0
    assert ndkl(["a", "b", "a", "b"]) == pytest.approx((math.log(2) + 0.5 * kl3) / z)
    # first two prefixes only
    assert ndkl(["a", "a", "b", "b"], k=2) == pytest.approx(math.log(2))


def test_ndkl_matches_scipy_kl():
    rng = np.random.default_rng(0)
    groups = rng.choice(["x", "y", "z"], 50, p=[0.5, 0.3, 0.2])
    target = {"x": 0.4, "y": 0.4, "z": 0.2}
    q = np.array([0.4, 0.4, 0.2])
    num = den = 0.0
    for i in range(1, 51):
        counts = np.array([(groups[:i] == g).sum() for g in ["x", "y", "z"]])
        w = 1 / math.log2(i + 1)
        num += w * rel_entr(counts / i, q).sum()
        den += w
    assert ndkl(groups, target_prop=target) == pytest.approx(num / den)


def test_exposure_hand_worked_and_ratio():
    exposure = group_exposure(["a", "b", "a", "b"])
    assert exposure["a"] == pytest.approx((1 + 0.5) / 2)
    assert exposure["b"] == pytest.approx((L2 + L4) / 2)
    assert exposure_ratio(["a", "b", "a", "b"]) == pytest.approx((L2 + L4) / 1.5)
    # only the top 2 seen: a gets 1 (of its 2 items), b gets 1/log2(3)
    exposure = group_exposure(["a", "b", "a", "b"], k=2)
    assert exposure == {"a": pytest.approx(0.5), "b": pytest.approx(L2 / 2)}


@pytest.mark.parametrize("k", [None, 10])
def test_exposure_is_dcg_of_group_indicator(k):
    # the summed exposure of a group is scikit-learn's DCG with relevance = membership
    rng = np.random.default_rng(1)
    groups = rng.choice(["f", "m"], 40)
    scores = rng.normal(size=40)
    exposure = group_exposure(groups, y_score=scores, k=k)
    for g in ("f", "m"):
        member = (groups == g).astype(float)
        dcg = dcg_score(member[None, :], scores[None, :], k=k)
        assert exposure[g] == pytest.approx(dcg / member.sum())


def test_reranking_reduces_ndkl_and_skew():
    # scores favour group b; re-ranking to the pool shares must bring the top 20 closer
    rng = np.random.default_rng(2)
    groups = rng.choice(["a", "b"], 200, p=[0.5, 0.5])
    scores = rng.normal(size=200) + 1.5 * (groups == "b")
    before_ndkl = ndkl(groups, y_score=scores, k=20)
    before_skew = min_skew_at_k(groups, y_score=scores, k=20)
    ranking = DeterministicReranker(k=20).fit_rerank(scores, sensitive_features=groups)
    target = {"a": float(np.mean(groups == "a")), "b": float(np.mean(groups == "b"))}
    assert ndkl(groups[ranking], target_prop=target) < before_ndkl / 3
    assert min_skew_at_k(groups[ranking], k=20, target_prop=target) > before_skew
    assert abs(min_skew_at_k(groups[ranking], k=20, target_prop=target)) < 0.11


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: skew_at_k(["a", "b"], k=3), "k must"),
        (lambda: skew_at_k(["a", "b"], k=0), "k must"),
        (lambda: ndkl(["a", "b"], target_prop={"a": 1.0}), "no proportion.*'b'"),
        (lambda: ndkl(["a", "b"], target_prop={"a": 0.7, "b": 0.7}), "summing to 1"),
        (lambda: ndkl(["a", "b"], target_prop=[0.5, 0.5]), "dict"),
        (lambda: group_exposure(["a", "b"], y_score=[1.0]), "y_score has 1"),
        (lambda: group_exposure(["a", "b"], y_score=[1.0, np.nan]), "y_score must be finite"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
