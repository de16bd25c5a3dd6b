"""Model.rhs / jacobian / parameter_jacobian honour knockouts (issue: they ignored them)."""

import numpy as np

import osteogrn as og


def _fd_jacobian(model, t, y, h=1e-6):
    cols = []
    for c in range(len(y)):
        step = h * max(1.0, abs(y[c]))
        yp, ym = y.copy(), y.copy()
        yp[c] += step
        ym[c] -= step
        cols.append((model.rhs(t, yp) - model.rhs(t, ym)) / (2 * step))
    return np.column_stack(cols)


def test_knockout_is_honoured_by_rhs_and_jacobian():
    base = og.load_model("osteogenic")
    ko = base.knockout("Runx2")
    r = base.species.index("Runx2")
    y = np.random.default_rng(0).uniform(0.1, 1.0, len(base.species))
    f = ko.rhs(0.0, y)
    assert f[r] == 0.0
    held = y.copy()
    held[r] = 0.0
    others = [i for i in range(len(y)) if i != r]
    np.testing.assert_array_equal(f[others], base.rhs(0.0, held)[others])
    assert base.rhs(0.0, y)[r] != 0.0
    J = ko.jacobian(0.0, y)
    np.testing.assert_allclose(J, _fd_jacobian(ko, 0.0, y), rtol=1e-5, atol=1e-6)
    assert not J[r].any() and not J[:, r].any()
    assert not ko.parameter_jacobian(0.0, y)[r].any()
