"""Readout expressions and paths (osteogrn.design.readouts, osteogrn.design.paths)."""

import numpy as np
import pytest

import osteogrn as og
from osteogrn.design import paths
from osteogrn.design.readouts import Readout, sample_times


# -- parsing ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, outputs, times, grid", [
    ("mineral@21", ["mineral"], [21.0], False),
    ("max(ALP)", ["ALP"], [], True),
    ("argmax( ALP , 2, 14 )", ["ALP"], [2.0, 14.0], True),
    ("time_to(mineral, 1.0)", ["mineral"], [], True),
    ("auc(OCN, 0, 21)", ["OCN"], [0.0, 21.0], True),
    ("mean(X, 7, 14)", ["X"], [7.0, 14.0], True),
    ("mineral@21 / ALP@7", ["mineral", "ALP"], [7.0, 21.0], False),
    ("time_to(X, -1e-3)", ["X"], [], True),
])
def test_parse(text, outputs, times, grid):
    r = Readout(text)
    assert r.outputs == outputs
    assert r.times == times
    assert r.needs_grid is grid
    assert r.text == text.strip()


@pytest.mark.parametrize("text, position, words", [
    ("max(ALP", 7, "expected ')'"),
    ("foo(ALP)", 0, "unknown function 'foo'"),
    ("ALP@", 4, "a day after '@'"),
    ("ALP@21 x", 7, "unexpected 'x'"),
    ("auc(ALP, 5)", 10, "auc(X) or auc(X, a, b)"),
    ("time_to(ALP)", 11, "time_to(X, level)"),
    ("mean(ALP, 9, 3)", 14, "is empty"),
    ("ALP", 3, "expected '@'"),
    ("ALP@21 # 3", 7, "unexpected character '#'"),
    ("", 0, "empty readout"),
])
def test_parse_errors_name_text_and_position(text, position, words):
    with pytest.raises(og.OptionError) as info:
        Readout(text)
    assert info.value.position == position
    assert info.value.text == text
    assert f"readout '{text}'" in str(info.value)
    assert words in str(info.value)


def test_unknown_output_names_readout_and_position():
    model = og.load_model("osteogenic")
    with pytest.raises(og.OptionError) as info:
        Readout("max(ALP) / minerl@21").check(model)
    assert info.value.position == 11
    assert "no output 'minerl'" in str(info.value) and "mineral" in str(info.value)


def test_units_from_the_model():
    model = og.load_model("osteogenic")
    units = model.observable_table()["unit"]
    assert Readout("mineral@21").unit(model) == units["mineral"]
    assert Readout("argmax(ALP)").unit(model) == model.time_unit
    assert Readout("time_to(mineral, 1)").unit(model) == model.time_unit
    assert Readout("auc(ALP)").unit(model) == f"{units['ALP']}*{model.time_unit}"
    assert Readout("mineral@21 / mineral@14").unit(model) == "1"
    assert Readout("alizarin_OD@21 / argmax(ALP)").unit(model) == \
        f"{units['alizarin_OD']}/{model.time_unit}"


# -- evaluation against closed forms -----------------------------------------------------
T = np.linspace(0.0, 10.0, 101)  # step 0.1


def test_at_exact_and_interpolated():
    v = np.stack([T ** 2, 3 * T])                   # two courses, shape (2, n_t)
    assert Readout("X@5").evaluate(T, {"X": v}).tolist() == [v[0, 50], v[1, 50]]
    mid = Readout("X@5.05").evaluate(T, {"X": v})
    np.testing.assert_allclose(mid, [(v[0, 50] + v[0, 51]) / 2, 15.15], rtol=1e-12)
    assert np.isnan(Readout("X@11").evaluate(T, {"X": v})).all()


def test_max_argmax_min_windows():
    v = np.sin(T)                                   # max at pi/2 within [0, 10]
    assert Readout("max(X)").evaluate(T, {"X": v}) == v.max()
    assert Readout("argmax(X)").evaluate(T, {"X": v}) == T[np.argmax(v)]
    assert Readout("argmin(X)").evaluate(T, {"X": v}) == T[np.argmin(v)]
    # window [0, 1]: sin increasing, so the max is at the (exact) end point 1
    assert Readout("max(X, 0, 1)").evaluate(T, {"X": v}) == v[10]
    assert Readout("argmax(X, 0, 1)").evaluate(T, {"X": v}) == 1.0
    assert Readout("min(X, 2, 3)").evaluate(T, {"X": v}) == v[30]


def test_auc_and_mean_linear_is_exact():
    v = 2.0 * T + 1.0                               # trapezoid exact for a line
    np.testing.assert_allclose(Readout("auc(X)").evaluate(T, {"X": v}), 110.0, rtol=1e-12)
    # a window whose ends are not sample times: interpolated ends, still exact for a line
    np.testing.assert_allclose(Readout("auc(X, 1.25, 3.55)").evaluate(T, {"X": v}),
                               (3.55 ** 2 + 3.55) - (1.25 ** 2 + 1.25), rtol=1e-12)
    np.testing.assert_allclose(Readout("mean(X, 2, 4)").evaluate(T, {"X": v}), 7.0,
                               rtol=1e-12)


def test_time_to_first_crossing_interpolated():
    v = np.stack([T, 10 - T, np.full_like(T, 0.5), np.where(T < 5, T, 10 - T)])
    out = Readout("time_to(X, 3.33)").evaluate(T, {"X": v})
    np.testing.assert_allclose(out[0], 3.33, rtol=1e-12)          # upward
    np.testing.assert_allclose(out[1], 10 - 3.33, rtol=1e-12)     # downward from above
    assert np.isnan(out[2])                                       # never
    np.testing.assert_allclose(out[3], 3.33, rtol=1e-12)          # first of two crossings
    assert Readout("time_to(X, 0)").evaluate(T, {"X": T}) == 0.0  # starts there


def test_nan_propagates_and_ratio():
    v = np.stack([T + 1, T + 1])
    v[1, 60:] = np.nan                              # a failure at day 6
    assert np.isnan(Readout("max(X)").evaluate(T, {"X": v})[1])
    assert Readout("X@5").evaluate(T, {"X": v})[1] == 6.0         # before the failure
    assert np.isnan(Readout("time_to(X, 9)").evaluate(T, {"X": v})[1])
    r = Readout("X@9 / X@4").evaluate(T, {"X": v})
    assert r[0] == 10.0 / 5.0 and np.isnan(r[1])


def test_vectorised_over_leading_axes_equals_loop():
    rng = np.random.default_rng(1)
    v = rng.random((4, 3, T.size)).cumsum(axis=-1)
    for text in ("X@7.3", "max(X, 1, 9)", "argmin(X)", "time_to(X, 20)", "auc(X, 0.05, 9.95)",
                 "mean(X)", "X@2 / max(X)"):
        r = Readout(text)
        whole = r.evaluate(T, {"X": v})
        assert whole.shape == (4, 3)
        loop = np.array([[r.evaluate(T, {"X": v[i, j]}) for j in range(3)] for i in range(4)])
        # equal up to the order of a sum (numpy sums a batch pairwise, in blocks)
        np.testing.assert_allclose(whole, loop, rtol=1e-13, atol=0)


def test_evaluate_input_errors():
    with pytest.raises(og.OptionError, match="needs output 'Y'"):
        Readout("Y@1").evaluate(T, {"X": T})
    with pytest.raises(og.OptionError, match="last axis"):
        Readout("X@1").evaluate(T, {"X": T[:-1]})


def test_sample_times():
    only = sample_times(["mineral@21", "ALP@7"], 21)
    assert only.tolist() == [7.0, 21.0]             # no grid when nothing needs one
    grid = sample_times(["max(ALP)", "mineral@21.05", "ALP@30"], 21)
    assert grid[0] == 0.0 and grid[-1] == 21.0
    assert 21.05 not in grid                        # past the end: left out
    assert 0.3 in grid and 20.9 in grid and len(grid) == 211
    assert np.all(np.diff(grid) > 0)
    with_exact = sample_times(["auc(OCN, 0.05, 14)"], 21)
    assert 0.05 in with_exact and len(with_exact) == 212
    with pytest.raises(og.OptionError, match="within the run"):
        sample_times(["mineral@30"], 21)


# -- paths ---------------------------------------------------------------------------------
def test_paths_apply():
    p = og.load_protocol("om_bmp2")
    q, params = paths.apply(p, {"bmp2.concentration": 30, "bmp2.until": 7,
                                "media_changes.every": 2, "parameters.k_commit": 0.1,
                                "replace_fraction": 0.5})
    assert q.components["bmp2"]["concentration"] == 30
    assert q.components["bmp2"]["until"] == 7
    assert q.media_changes == {"every": 2}
    assert q.replace_fraction == 0.5
    assert params == {"k_commit": 0.1}
    assert q.name == p.name                         # not renamed; the caller names it
    assert p.components["bmp2"]["concentration"] == 100   # template unchanged
    days, _ = paths.apply(p, {"media_changes.days": [1, 5, 9]})
    assert days.media_change_days.tolist() == [1, 5, 9]
    same, only = paths.apply(p, {"parameters.k_commit": 2})
    assert same is p and only == {"k_commit": 2.0}
    named, _ = paths.apply(p, {"bmp2.concentration": 5}, name="low")
    assert named.name == "low"
    added, _ = paths.apply(og.load_protocol("osteogenic_medium"),
                           {"bmp2.concentration": 10, "bmp2.unit": "ng/mL"})
    assert added.components["bmp2"]["concentration"] == 10


@pytest.mark.parametrize("path, words", [
    ("bmp2.dose", "'dose' is not a component field"),
    ("media_changes.often", "media_changes takes .every or .days"),
    ("parameters", "parameters takes one parameter name"),
    ("additions.x.day", "additions takes an index"),
    ("a.b.c", "not of the form"),
])
def test_unknown_path(path, words):
    with pytest.raises(og.OptionError) as info:
        paths.parse(path)
    assert f"unknown path '{path}'" in str(info.value) and words in str(info.value)
    assert "media_changes.every" in str(info.value)   # says what it could be


def test_check_names_against_protocol_and_model():
    model = og.load_model("osteogenic")
    p = og.load_protocol("osteogenic_medium")
    with pytest.raises(og.OptionError, match="no component 'bmp2'.*bmp2.unit"):
        paths.check(["bmp2.concentration"], p, model)
    with pytest.raises(og.OptionError, match="no parameter 'k_comit'.*k_commit"):
        paths.check(["parameters.k_comit"], p, model)
    with pytest.raises(og.OptionError, match="has no component 'bmp2'"):
        paths.apply(p, {"bmp2.half_life": 1})
    with pytest.raises(og.OptionError, match="expected a number"):
        paths.apply(p, {"dex.concentration": "lots"})
    with pytest.raises(og.ProtocolError):
        paths.apply(p, {"dex.concentration": -1})


def test_path_units():
    model = og.load_model("osteogenic")
    p = og.load_protocol("om_bmp2")
    assert paths.unit("bmp2.concentration", p, model) == "ng/mL"
    assert paths.unit("media_changes.every", p, model) == "day"
    assert paths.unit("bmp2.until", p, model) == "day"
    assert paths.unit("parameters.k_commit", p, model) == \
        model.parameter_table().loc["k_commit", "unit"]


def test_template_builder_equals_apply():
    p = og.load_protocol("om_bmp2")
    template = paths.Template(p)
    fields = ["bmp2.concentration", "bmp2.until", "media_changes.every", "replace_fraction"]
    build = template.builder(fields)
    assert build is not None
    for values in ([30, 7, 2, 0.5], [12.345678901234567, 20.5, 3.0, 1], [0, 1e-3, 4, 0.25]):
        fast = build(values, "p1")
        slow, _ = paths.apply(p, dict(zip(fields, values)), name="p1")
        assert fast.to_dict() == slow.to_dict()
        assert fast.components["bmp2"]["concentration"] == values[0]
    with pytest.raises(ValueError):
        build([float("nan"), 7, 2, 0.5], "p2")
    with pytest.raises(og.ProtocolError, match="concentration"):
        build([-1, 7, 2, 0.5], "p3")
    assert template.builder(["media_changes.days"]) is None      # lists: the general route
    assert template.builder(["noggin.concentration"]) is None    # a component to add
