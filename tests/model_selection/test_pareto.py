import numpy as np
import pandas as pd
import pytest

from fairkit.model_selection import hypervolume, pareto_front, pareto_mask


@pytest.fixture
def table():
    # accuracy (max) and |SPD| (min), worked out by hand:
    # a (0.80, 0.10) front; b (0.85, 0.20) front; c (0.78, 0.15) dominated by a;
    # d (0.85, 0.25) dominated by b; e (0.70, 0.01) front; f (0.90, nan) never on the front.
    return pd.DataFrame(
        {
            "name": list("abcdef"),
            "acc": [0.80, 0.85, 0.78, 0.85, 0.70, 0.90],
            "gap": [0.10, 0.20, 0.15, 0.25, 0.01, np.nan],
        }
    )


def test_front_is_exactly_the_non_dominated_rows(table):
    front = pareto_front(table, {"acc": "max", "gap": "min"})
    assert list(front["name"]) == ["b", "a", "e"]  # sorted by accuracy, best first


def test_front_accepts_cv_results_dict(table):
    front = pareto_front(table.to_dict(orient="list"), {"acc": "max", "gap": "min"})
    assert sorted(front["name"]) == ["a", "b", "e"]


def test_duplicates_of_an_optimal_point_are_kept():
    mask = pareto_mask([[1, 1], [1, 1], [2, 2]])
    np.testing.assert_array_equal(mask, [True, True, False])


def test_single_objective_front_is_the_best_rows():
    np.testing.assert_array_equal(pareto_mask([[3], [1], [1]]), [False, True, True])


def test_hypervolume_two_dimensions_by_hand():
    # minimise both; points (1,3), (2,2), (3,1), ref (4,4):
    # union of [1,4]x[3,4] (3), [2,4]x[2,4] (4), [3,4]x[1,4] (3) = 3 + 2 + 1 = 6.
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    # a dominated point adds nothing; a point beyond the reference adds nothing
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [5, 0]], [4, 4]) == pytest.approx(6.0)


def test_hypervolume_with_maximised_accuracy(table):
    pts = table[["acc", "gap"]].to_numpy()
    # front a (0.80,0.10), b (0.85,0.20), e (0.70,0.01); reference acc 0.5, gap 0.5.
    # Sorted by gap: e covers acc in [0.5,0.70] over gap [0.01,0.5] = 0.2*0.49 = 0.098;
    # a adds acc [0.70,0.80] over gap [0.10,0.5] = 0.1*0.4 = 0.04;
    # b adds acc [0.80,0.85] over gap [0.20,0.5] = 0.05*0.3 = 0.015. Total 0.153.
    hv = hypervolume(pts, [0.5, 0.5], maximize=[True, False])
    assert hv == pytest.approx(0.153)


def test_hypervolume_three_dimensions_by_hand():
    # unit cubes: one point at the origin, ref (1,1,1) -> 1; two points (0,0,0.5),(0.5,0.5,0)
    # union volume = 0.5 + 0.25 - 0.125 = 0.625.
    assert hypervolume([[0, 0, 0]], [1, 1, 1]) == pytest.approx(1.0)
    assert hypervolume([[0, 0, 0.5], [0.5, 0.5, 0]], [1, 1, 1]) == pytest.approx(0.625)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="objective column 'nope' not found"):
        pareto_front(pd.DataFrame({"a": [1]}), {"nope": "max"})
    with pytest.raises(ValueError, match=r"objectives\['a'\] must be 'max' or 'min'"):
        pareto_front(pd.DataFrame({"a": [1]}), {"a": "up"})
    with pytest.raises(ValueError, match="reference has shape"):
        hypervolume([[1, 2]], [1, 2, 3])
