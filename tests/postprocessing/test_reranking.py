"""DeterministicReranker: hand-worked rankings, AIF360's DeterministicReranking, bad inputs."""

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from fairkit.postprocessing import DeterministicReranker

ALGORITHMS = ["Greedy", "Conservative", "Relaxed", "Constrained"]

# items 0-4 in group a (scores .95 .. .75), 5-6 in b (.5, .45), 7-9 in c (.3, .2, .1);
# targets a .5, b .3, c .2, k = 6. Worked by hand, position by position (k' = 1..6):
# Greedy: k'=1 all groups below their ceil, best is 0; k'=2 b and c below ceil(.6)=1,
# ceil(.4)=1, best 5; k'=3 a (1 < 2) or c, best 1; k'=4 b (1 < 2) or c, best 6; k'=5 c below
# its floor 1: 7; k'=6 a below floor(3): 2.
# Conservative: among groups below their ceil, smallest ceil(k' p)/p: k'=1 a (2 < 3.3 < 5),
# k'=2 b (3.3 < 5), k'=3 a (4 < 5), k'=4 c (5 < 6.7), k'=5 a (6 < 6.7), k'=6 b (6.7 < 10).
# Relaxed: ceil of those keys (2, 4, 5 | 4, 5 | 4, 5 | 7, 5 | 6, 7 | 7, 10): the same.
# Constrained: floors rise for a at step 2 (0), for a and b at step 4 (1 then 5), c at 5 (7),
# a at 6 (2, which moves up past 7 and 5, whose latest positions 4 and 3 allow it, and
# stops below 1), b at 7 (6).
SCORES = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.5, 0.45, 0.3, 0.2, 0.1])
GROUPS = np.array(list("aaaaabbccc"))
TARGET = {"a": 0.5, "b": 0.3, "c": 0.2}
EXPECTED = {
    "Greedy": [0, 5, 1, 6, 7, 2],
    "Conservative": [0, 5, 1, 7, 2, 6],
    "Relaxed": [0, 5, 1, 7, 2, 6],
    "Constrained": [0, 1, 2, 5, 7, 6],
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hand_worked(algorithm):
    rr = DeterministicReranker(k=6, algorithm=algorithm, target_prop=TARGET)
    ranking = rr.fit_rerank(SCORES, sensitive_features=GROUPS)
    assert ranking.tolist() == EXPECTED[algorithm]
    assert rr.groups_ == ["a", "b", "c"]
    np.testing.assert_allclose(rr.target_prop_, [0.5, 0.3, 0.2])
    # the same as a list in groups_ order, and in any input order of the candidates
    perm = np.random.default_rng(0).permutation(10)
    other = DeterministicReranker(k=6, algorithm=algorithm, target_prop=[0.5, 0.3, 0.2])
    got = other.fit_rerank(SCORES[perm], sensitive_features=GROUPS[perm])
    assert perm[got].tolist() == EXPECTED[algorithm]


def aif360_rerank(scores, codes, k, prop, algorithm):
    """AIF360's DeterministicReranking on groups 0..G-1; returns the chosen row indices."""
    import aif360.algorithms.postprocessing.deterministic_reranking as mod
    from aif360.datasets import RegressionDataset

    top = codes.max()
    # RegressionDataset min-max scales every column: the group column is given already in
    # [0, 1] and an id column recovers the rows. Its output is built as a RegressionDataset
    # again, which rejects the rescaled groups, so that step is replaced by the frame.
    df = pd.DataFrame(
        {"id": np.arange(len(scores), dtype=float), "s": codes / top, "score": scores}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = RegressionDataset(
            df, dep_var_name="score", protected_attribute_names=["s"], privileged_classes=[[1.0]]
        )
        rr = mod.DeterministicReranking(
            unprivileged_groups=[{"s": g / top} for g in range(top)], privileged_groups=[{"s": 1.0}]
        )
        original = mod.RegressionDataset
        mod.RegressionDataset = lambda frame, **kwargs: frame
        try:
            out = rr.fit_predict(ds, rec_size=k, target_prop=list(prop), rerank_type=algorithm)
        finally:
            mod.RegressionDataset = original
    return np.rint(out["id"].to_numpy() * (len(scores) - 1)).astype(int)


def floors_met(ranking, codes, prop):
    """Every prefix k' holds at least floor(k' p_g) members of every group g."""
    counts = np.zeros(len(prop))
    for pos, item in enumerate(ranking, start=1):
        counts[codes[item]] += 1
        if np.any(counts < np.floor(pos * np.asarray(prop))):
            return False
    return True


def random_case(seed):
    rng = np.random.default_rng(seed)
    n_groups = 2 + seed % 3
    n = 40 * n_groups
    codes = rng.permutation(np.arange(n) % n_groups)  # 40 candidates per group
    scores = rng.normal(size=n) + rng.normal(size=n_groups)[codes]
    prop = rng.dirichlet(np.full(n_groups, 3.0))
    k = int(rng.integers(5, 30))
    return scores, codes, prop, k


@pytest.mark.parametrize("algorithm", ["Conservative", "Relaxed", "Constrained"])
@pytest.mark.parametrize("seed", range(8))
def test_equals_aif360(algorithm, seed):
    scores, codes, prop, k = random_case(seed)
    ours = DeterministicReranker(k=k, algorithm=algorithm, target_prop=prop).fit_rerank(
        scores, sensitive_features=codes
    )
    np.testing.assert_array_equal(ours, aif360_rerank(scores, codes, k, prop, algorithm))


@pytest.mark.parametrize("seed", range(8))
def test_greedy_equals_aif360_unless_aif360_misses_a_floor(seed):
    # AIF360 counts the candidate taken for an under-represented group against the
    # group's position in its list of under-represented groups, not against the group
    # itself; when that differs its ranking breaks the minimum counts DetGreedy guarantees
    # or repeats a candidate. Ours must keep the guarantee; otherwise the two must agree.
    scores, codes, prop, k = random_case(seed)
    ours = DeterministicReranker(k=k, algorithm="Greedy", target_prop=prop).fit_rerank(
        scores, sensitive_features=codes
    )
    theirs = aif360_rerank(scores, codes, k, prop, "Greedy")
    assert floors_met(ours, codes, prop)
    if len(set(theirs.tolist())) == k and floors_met(theirs, codes, prop):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_equals_aif360_when_only_group_0_falls_short(seed):
    # two groups, group 1 scoring higher: only group 0 is ever below its minimum, where
    # AIF360's index slip (below) cannot act, so every ranking must agree
    rng = np.random.default_rng(seed)
    codes = rng.permutation(np.arange(80) % 2)
    scores = rng.normal(size=80) + 2.0 * codes
    share = rng.uniform(0.2, 0.6)
    prop, k = [share, 1 - share], int(rng.integers(8, 30))
    ours = DeterministicReranker(k=k, algorithm="Greedy", target_prop=prop).fit_rerank(
        scores, sensitive_features=codes
    )
    np.testing.assert_array_equal(ours, aif360_rerank(scores, codes, k, prop, "Greedy"))


def test_greedy_aif360_counting_slip_by_hand():
    # a: 0-5 (.9 .. .55), b: 6-8 (.5 .4 .3), targets 1/2 each, k = 4. DetGreedy: 0 (both
    # below ceil(.5) = 1, best a); b below floor(1) = 1: 6; both below ceil(1.5) = 2: best 1;
    # b below floor(2) = 2: 7.
    scores = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.55, 0.5, 0.4, 0.3])
    codes = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    ours = DeterministicReranker(k=4, algorithm="Greedy", target_prop=[0.5, 0.5]).fit_rerank(
        scores, sensitive_features=codes
    )
    assert ours.tolist() == [0, 6, 1, 7]
    # AIF360 credits candidate 6 to group a (index 0 of the list [b]), so b stays below
    # its floor and the same candidate is placed again at every later position
    assert aif360_rerank(scores, codes, 4, [0.5, 0.5], "Greedy").tolist() == [0, 6, 6, 6]


@pytest.mark.parametrize("algorithm", ["Greedy", "Conservative", "Relaxed"])
@pytest.mark.parametrize("seed", range(6))
def test_minimum_counts_guaranteed(algorithm, seed):
    scores, codes, prop, k = random_case(100 + seed)
    ranking = DeterministicReranker(k=k, algorithm=algorithm, target_prop=prop).fit_rerank(
        scores, sensitive_features=codes
    )
    assert len(set(ranking.tolist())) == k
    assert floors_met(ranking, codes, prop)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_default_target_is_pool_share_and_exhausted_group(algorithm):
    # b has only 2 candidates: once they are placed, a fills the list
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    groups = np.array(list("aaaaaabb"))
    rr = DeterministicReranker(k=8, algorithm=algorithm).fit(scores, sensitive_features=groups)
    np.testing.assert_allclose(rr.target_prop_, [0.75, 0.25])
    ranking = rr.rerank(scores, sensitive_features=groups)
    assert sorted(ranking.tolist()) == list(range(8))
    rr.set_params(target_prop={"a": 0.2, "b": 0.8})
    rr.fit(scores, sensitive_features=groups)
    assert sorted(rr.rerank(scores, sensitive_features=groups).tolist()) == list(range(8))


def test_intersectional_groups_and_frame_input():
    rng = np.random.default_rng(3)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], 60), "race": rng.choice(["x", "y"], 60)})
    scores = rng.normal(size=60)
    rr = DeterministicReranker(k=12).fit(scores, sensitive_features=sf)
    assert rr.groups_ == [("F", "x"), ("F", "y"), ("M", "x"), ("M", "y")]
    ranking = rr.rerank(pd.Series(scores), sensitive_features=sf)
    assert len(ranking) == 12


def test_clone_and_pickle():
    rr = DeterministicReranker(k=6, algorithm="Relaxed", target_prop=TARGET)
    copy = clone(rr)
    assert copy is not rr and copy.get_params() == rr.get_params()
    assert repr(rr).startswith("DeterministicReranker(k=6, algorithm='Relaxed'")
    with pytest.raises(ValueError, match="Invalid parameter 'n'"):
        rr.set_params(n=3)
    rr.fit(SCORES, sensitive_features=GROUPS)
    again = pickle.loads(pickle.dumps(rr))
    assert again.rerank(SCORES, sensitive_features=GROUPS).tolist() == EXPECTED["Relaxed"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"algorithm": "Fast"}, "algorithm"),
        ({"k": 0}, "k must"),
        ({"k": 2.5}, "k must"),
        ({"target_prop": {"a": 0.5, "z": 0.5}}, "target_prop"),
        ({"target_prop": [0.5, 0.5]}, "target_prop has 2"),
        ({"target_prop": {"a": 0.5, "b": 0.3, "c": 0.3}}, "summing to 1"),
        ({"target_prop": [1.2, -0.1, -0.1]}, "summing to 1"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        DeterministicReranker(**params).fit(SCORES, sensitive_features=GROUPS)


def test_bad_data():
    rr = DeterministicReranker(k=3)
    with pytest.raises(ValueError, match="scores must be finite"):
        rr.fit(np.r_[SCORES[:-1], np.nan], sensitive_features=GROUPS)
    with pytest.raises(ValueError, match="sensitive_features"):
        rr.fit(SCORES, sensitive_features=GROUPS[:-1])
    rr.fit(SCORES, sensitive_features=GROUPS)
    with pytest.raises(ValueError, match="not seen in fit.*'d'"):
        rr.rerank(SCORES, sensitive_features=np.array(list("aaaaabbccd")))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DeterministicReranker().rerank(SCORES, sensitive_features=GROUPS)


def test_k_larger_than_pool_returns_all():
    ranking = DeterministicReranker(k=50).fit_rerank(SCORES, sensitive_features=GROUPS)
    assert sorted(ranking.tolist()) == list(range(10))
    assert math.isclose(len(ranking), 10)


# -- fast paths against the plain algorithm ---------------------------------------------
# ``plain_rerank`` is the algorithm written position by position over every candidate of
# every group (the whole list sorted, dicts of floors and ceilings, numpy scores), with no
# shortcut: the re-ranker selects each group's k best without sorting everything, encodes
# integer groups by counting and runs a single pass per position, and must give the same
# list on inputs with many tied scores.


def plain_rerank(scores, codes, k, prop, algorithm):
    n_groups = len(prop)
    order = np.argsort(-scores, kind="stable")
    queues = [order[codes[order] == g].tolist() for g in range(n_groups)]
    taken = [0] * n_groups
    ranking = []
    if algorithm != "Constrained":
        for pos in range(1, k + 1):
            alive = [g for g in range(n_groups) if taken[g] < len(queues[g])]
            head = {g: scores[queues[g][taken[g]]] for g in alive}
            floor = {g: math.floor(pos * prop[g]) for g in alive}
            ceil = {g: math.ceil(pos * prop[g]) for g in alive}
            below_min = [g for g in alive if taken[g] < floor[g]]
            below_max = [g for g in alive if floor[g] <= taken[g] < ceil[g]]
            if below_min:
                chosen = max(below_min, key=head.__getitem__)
            elif not below_max:
                chosen = max(alive, key=head.__getitem__)
            elif algorithm == "Greedy":
                chosen = max(below_max, key=head.__getitem__)
            elif algorithm == "Conservative":
                chosen = min(below_max, key=lambda h: (ceil[h] / prop[h], -head[h]))
            else:
                chosen = min(below_max, key=lambda h: (math.ceil(ceil[h] / prop[h]), -head[h]))
            ranking.append(queues[chosen][taken[chosen]])
            taken[chosen] += 1
        return ranking
    min_counts, max_index, step = [0] * n_groups, [], 0
    while len(ranking) < k:
        if not any(prop[g] > 0 and taken[g] < len(queues[g]) for g in range(n_groups)):
            break
        step += 1
        at_step = [math.floor(prop[g] * step) for g in range(n_groups)]
        changed = [
            g for g in range(n_groups) if at_step[g] > min_counts[g] and taken[g] < len(queues[g])
        ]
        changed.sort(key=lambda g: -scores[queues[g][taken[g]]])
        for g in changed:
            if len(ranking) == k:
                break
            ranking.append(queues[g][taken[g]])
            max_index.append(step - 1)
            taken[g] += 1
            i = len(ranking) - 1
            while i > 0 and max_index[i - 1] >= i and scores[ranking[i - 1]] < scores[ranking[i]]:
                ranking[i - 1], ranking[i] = ranking[i], ranking[i - 1]
                max_index[i - 1], max_index[i] = max_index[i], max_index[i - 1]
                i -= 1
        min_counts = at_step
    if len(ranking) < k:
        rest = sorted(
            (c for g in range(n_groups) for c in queues[g][taken[g] :]), key=lambda c: -scores[c]
        )
        ranking.extend(rest[: k - len(ranking)])
    return ranking


def tied_case(seed):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(2, 6))
    n = int(rng.integers(30, 400))
    codes = rng.integers(0, n_groups, size=n)
    codes[:n_groups] = np.arange(n_groups)  # every group present
    # few distinct scores: ties within and across groups
    scores = rng.integers(0, int(rng.integers(2, 12)), size=n).astype(float)
    scores += 0.5 * (codes % 2) * rng.integers(0, 2)
    prop = rng.dirichlet(np.full(n_groups, 2.0))
    if seed % 4 == 0:  # a group with target 0 (its candidates only fill in)
        prop[int(rng.integers(n_groups))] = 0.0
        prop /= prop.sum()
    k = int(rng.choice([1, 3, n // 20 + 1, n // 3, n]))
    return scores, codes, prop, max(k, 1)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", range(25))
def test_fast_paths_equal_plain_rerank_with_ties(algorithm, seed):
    scores, codes, prop, k = tied_case(seed)
    expected = plain_rerank(scores, codes, k, prop, algorithm)
    rr = DeterministicReranker(k=k, algorithm=algorithm, target_prop=prop)
    assert rr.fit_rerank(scores, sensitive_features=codes).tolist() == expected
    # the same through the general group encoding (string labels sort as the codes do)
    labels = np.array([f"g{c}" for c in codes], dtype=object)
    assert (
        rr.fit(scores, sensitive_features=labels).rerank(scores, sensitive_features=labels).tolist()
        == expected
    )
    assert rr.groups_ == [f"g{g}" for g in range(len(prop))]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_top_k_selection_path_with_ties(algorithm):
    # n much larger than groups * k: each group's k best are selected, not fully sorted;
    # the k-th best score of a group is tied many times across the cut
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 3, size=3000)
    scores = rng.integers(0, 40, size=3000).astype(float)
    prop = [0.5, 0.3, 0.2]
    for k in (1, 10, 60):
        expected = plain_rerank(scores, codes, k, prop, algorithm)
        got = DeterministicReranker(k=k, algorithm=algorithm, target_prop=prop).fit_rerank(
            scores, sensitive_features=codes
        )
        assert got.tolist() == expected


@pytest.mark.parametrize(
    "groups",
    [
        np.array([3, 1, 3, 7, 1], dtype=np.int8),
        np.array([-5, 7, -5, 0], dtype=np.int64),
        np.array([4, 2, 2], dtype=np.uint64),
        np.array([True, False, True]),
        np.array([2**40, 0, 2**40]),  # wide range: the general encoding
    ],
)
def test_integer_group_encoding_equals_general(groups):
    from fairkit._protected import encode_groups
    from fairkit.postprocessing._reranking import _encode

    labels, counts, codes = _encode(groups, len(groups))
    enc = encode_groups(groups, n_samples=len(groups))
    assert labels == list(enc.labels)
    assert [type(g) for g in labels] == [type(g) for g in enc.labels]
    np.testing.assert_array_equal(codes, enc.codes)
    np.testing.assert_array_equal(counts, np.bincount(enc.codes))


def test_many_integer_groups_warn_as_elsewhere():
    # more than 20 integer levels leave the fast encoding: the general one warns
    codes = np.arange(60) % 30
    scores = np.linspace(1, 0, 60)
    with pytest.warns(UserWarning, match="30 distinct values"):
        DeterministicReranker(k=5).fit(scores, sensitive_features=codes)
