"""The document-004 reference cases: their gradients against central differences."""
import numpy as np
import pytest

from hcref.gradcheck import numerical_gradient, rel_error
from hcref.reference import cases, check
import hcref.ff.reference_cases as rc

MECH = {"ff.single_layer": rc.single_layer, "ff.theorem_terms": rc.theorem_terms,
        "ff.network_layer": rc.network_layer}


@pytest.mark.parametrize("case", ["ff_single_layer_step", "ff_theorem_terms_small_batch", "ff_network_layer_update"])
def test_case_gradients_match_finite_differences(case):
    mech, config, make = cases()[case]
    inputs, dout = make(np.random.default_rng(0))
    outs, grads = MECH[mech](config, inputs, dout)
    assert set(grads) == set(inputs) and set(dout) == set(outs)
    for name, arr in inputs.items():
        def f(v, name=name):
            o, _ = MECH[mech](config, {**inputs, name: v}, dout)
            return sum(float(np.sum(o[k] * dout[k])) for k in o)
        assert rel_error(grads[name], numerical_gradient(f, arr)) <= 1e-7, (case, name)


def test_update_outputs_are_sgd_steps():
    mech, config, make = cases()["ff_network_layer_update"]
    inputs, dout = make(np.random.default_rng(0))
    outs, grads = rc.network_layer(config, inputs, {**dout, "h_pos": 0 * dout["h_pos"], "h_neg": 0 * dout["h_neg"]})
    np.testing.assert_allclose(outs["W_new"], inputs["W"] - config["lr"] * grads["W"], atol=1e-14)
    np.testing.assert_allclose(outs["b_new"], inputs["b"] - config["lr"] * grads["b"], atol=1e-14)


def test_written_cases_check_roundtrip(tmp_path):
    """Write this package's cases in the exchange format and re-check them with hcref."""
    import json
    for case in ("ff_single_layer_step", "ff_theorem_terms_small_batch", "ff_network_layer_update"):
        mech, config, make = cases()[case]
        inputs, dout = make(np.random.default_rng(0))
        outs, grads = MECH[mech](config, inputs, dout)
        arrays = {"mechanism": np.array(mech), "config": np.array(json.dumps(config, sort_keys=True))}
        for prefix, d in (("in", inputs), ("dout", dout), ("out", outs), ("grad", grads)):
            arrays.update({f"{prefix}.{k}": np.asarray(v, dtype=np.float64) for k, v in d.items()})
        np.savez(tmp_path / f"{case}.npz", **arrays)
    report = check(str(tmp_path))
    assert len(report) == 3
    assert max(max(v.values()) for v in report.values()) <= 1e-12
