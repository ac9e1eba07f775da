import pickle

import numpy as np
import pytest

from fairkit.utils._adam import Adam


def test_two_steps_match_hand_computation():
    # Step 1 (g=2): m=0.2, v=0.004, m_hat=2, v_hat=4 -> p -= 0.1 * 2 / (2 + 1e-8).
    # Step 2 (g=1): m=0.9*0.2+0.1*1=0.28, v=0.999*0.004+0.001=0.004996,
    # m_hat=0.28/0.19, v_hat=0.004996/0.001999.
    p = np.zeros(1)
    opt = Adam(lr=0.1)
    opt.step([p], [np.array([2.0])])
    assert p[0] == pytest.approx(-0.1 * 2 / (2 + 1e-8), abs=1e-15)
    opt.step([p], [np.array([1.0])])
    step2 = 0.1 * (0.28 / 0.19) / (np.sqrt(0.004996 / 0.001999) + 1e-8)
    assert p[0] == pytest.approx(-0.1 * 2 / (2 + 1e-8) - step2, abs=1e-14)
    assert step2 == pytest.approx(0.093218, abs=1e-6)  # 0.1 * 1.473684 / 1.580902
    assert opt.t == 2
    np.testing.assert_allclose(opt.m[0], [0.28], atol=1e-15)
    np.testing.assert_allclose(opt.v[0], [0.004996], atol=1e-15)


def test_first_step_moves_each_coordinate_by_lr():
    p = np.array([1.0, 1.0, 1.0])
    Adam(lr=0.5).step([p], [np.array([10.0, -1.0, 0.0])])
    # A zero gradient leaves its coordinate in place (eps guards the 0/0).
    np.testing.assert_allclose(p, [0.5, 1.5, 1.0], atol=1e-7)


def test_several_arrays_and_views_updated_in_place():
    flat = np.zeros(6)
    W, b = flat[:4].reshape(2, 2), flat[4:]
    opt = Adam(lr=0.01)
    opt.step([W, b], [np.ones((2, 2)), -np.ones(2)])
    np.testing.assert_allclose(flat, [-0.01] * 4 + [0.01] * 2, atol=1e-9)
    # The same result as one optimiser on the flat vector.
    flat2 = np.zeros(6)
    Adam(lr=0.01).step([flat2], [np.r_[np.ones(4), -np.ones(2)]])
    np.testing.assert_array_equal(flat, flat2)


def test_pickle_round_trip_continues_identically():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(20, 3))
    p1, opt1 = np.zeros(3), Adam(lr=0.05, beta1=0.8)
    for g in grads[:10]:
        opt1.step([p1], [g])
    opt2 = pickle.loads(pickle.dumps(opt1))
    p2 = p1.copy()
    for g in grads[10:]:
        opt1.step([p1], [g])
        opt2.step([p2], [g])
    np.testing.assert_array_equal(p1, p2)
    assert opt2.t == 20 and opt2.beta1 == 0.8


def test_lr_can_change_and_reset_restarts():
    p, opt = np.zeros(1), Adam(lr=0.1)
    opt.step([p], [np.ones(1)])
    opt.lr = 0.2
    opt.reset()
    assert opt.t == 0 and opt.m is None
    q = p.copy()
    opt.step([p], [np.ones(1)])
    assert p[0] == pytest.approx(q[0] - 0.2, abs=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0}, "lr must be > 0; got lr=0"),
        ({"lr": -1.0}, "lr must be > 0; got lr=-1.0"),
        ({"lr": "a"}, "lr must be a finite real number; got lr='a'"),
        ({"lr": np.nan}, "lr must be a finite real number"),
        ({"lr": 0.1, "beta1": 1.0}, r"beta1 must be in \[0, 1\); got beta1=1.0"),
        ({"lr": 0.1, "beta2": -0.1}, r"beta2 must be in \[0, 1\); got beta2=-0.1"),
        ({"lr": 0.1, "eps": -1e-8}, "eps must be >= 0; got eps=-1e-08"),
        ({"lr": True}, "lr must be a finite real number; got lr=True"),
    ],
)
def test_bad_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


def test_bad_step_arguments():
    opt = Adam(lr=0.1)
    with pytest.raises(ValueError, match="2 parameter arrays but 1 gradients"):
        opt.step([np.zeros(1), np.zeros(1)], [np.zeros(1)])
    with pytest.raises(ValueError, match=r"gradient 0 has shape \(2,\)"):
        opt.step([np.zeros(1)], [np.zeros(2)])
    opt.step([np.zeros(1)], [np.zeros(1)])
    with pytest.raises(ValueError, match="started with 1; call reset"):
        opt.step([np.zeros(1), np.zeros(1)], [np.zeros(1), np.zeros(1)])
    with pytest.raises(ValueError, match=r"parameter 0 must be an ndarray of shape \(1,\)"):
        opt.step([np.zeros(3)], [np.zeros(3)])
