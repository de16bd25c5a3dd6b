"""JSON and pickle round trips of Model, Protocol and Result give identical simulations."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import osteogrn as og
from conftest import DATA


def _same_run(a: og.Result, b: og.Result) -> None:
    for key in ("t", "species", "observables", "inputs"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    assert a.species_names == b.species_names
    assert a.observable_names == b.observable_names


def _models(small_model, composed_model):
    return {
        "small": small_model,
        "edited": small_model.with_parameters(d_runx2=0.6, K_dex=10).knockout("ALP_act"),
        "composed": composed_model,
    }


@pytest.mark.parametrize("which", ["small", "edited", "composed"])
def test_model_json_and_pickle(small_model, composed_model, dex_protocol, minimal_protocol, which):
    model = _models(small_model, composed_model)[which]
    proto = dex_protocol if which != "composed" else minimal_protocol
    ref = og.simulate(model, proto)
    from_json = og.Model.from_json(model.to_json())
    from_dict = og.Model.from_json(json.loads(model.to_json()))
    unpickled = pickle.loads(pickle.dumps(model))
    for other in (from_json, from_dict, unpickled):
        assert other.to_json() == model.to_json()
        assert other.parameters == model.parameters
        assert other.knockouts == model.knockouts
        _same_run(ref, og.simulate(other, proto))


def test_edits_survive_the_round_trip(small_model, dex_protocol):
    edited = small_model.with_parameters(d_runx2=0.6)
    again = pickle.loads(pickle.dumps(edited))
    assert again.parameters["d_runx2"] == 0.6
    ko = pickle.loads(pickle.dumps(small_model.knockout("Sp7")))
    assert np.all(og.simulate(ko, dex_protocol)["Sp7"] == 0)


@pytest.mark.parametrize("path", sorted((DATA / "protocols").glob("*.json")), ids=lambda p: p.stem)
def test_protocol_files_round_trip(path):
    proto = og.load_protocol(path)
    again = og.Protocol.from_json(proto.to_json())
    assert again.to_json() == proto.to_json()
    assert again == proto
    assert pickle.loads(pickle.dumps(proto)) == proto
    np.testing.assert_array_equal(again.media_change_days, proto.media_change_days)


def test_protocol_round_trips_simulate_identically(small_model, dex_protocol):
    ref = og.simulate(small_model, dex_protocol)
    for other in (og.Protocol.from_json(dex_protocol.to_json()),
                  pickle.loads(pickle.dumps(dex_protocol)),
                  og.Protocol.from_json(dex_protocol.to_dict())):
        _same_run(ref, og.simulate(small_model, other))


def test_builtin_models_round_trip():
    for name in og.list_models():
        model = og.load_model(name)
        again = pickle.loads(pickle.dumps(model))
        assert again.to_json() == model.to_json()
        assert again.species == model.species and again.parameters == model.parameters


def test_result_pickle_and_json(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol, record_steps=True)
    assert res.sensitivities.shape == (len(res.t), 5, 0)
    assert res.step_log.shape[1] == 2 and len(res.step_log) == res.stats["steps"]
    for other in (pickle.loads(pickle.dumps(res)), og.Result.from_json(res.to_json())):
        _same_run(res, other)
        assert np.array_equal(other.sensitivities, res.sensitivities)
        assert np.array_equal(other.step_log, res.step_log)
        assert other.stats == res.stats and other.status == res.status
        assert other.sensitivity_parameters == []
        assert other.to_frame().equals(res.to_frame())


def test_failed_result_round_trips_with_nan(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol, max_steps=5, raise_on_failure=False)
    assert np.isnan(res.species).any()
    for other in (pickle.loads(pickle.dumps(res)), og.Result.from_json(res.to_json())):
        np.testing.assert_array_equal(other.species, res.species)  # NaN == NaN here
        assert other.success is False and other.status == res.status
        assert other.failure_time == res.failure_time
