"""scripts/crosscheck_torch.py: its case list follows the registry; with PyTorch present, its autograd
implementations pass and a deliberately wrong one fails."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import crosscheck_torch  # noqa: E402

from hcref import reference  # noqa: E402


def test_checked_cases_are_registered_and_found_in_a_folder(tmp_path):
    registered = reference.cases()
    assert set(crosscheck_torch.CHECKS) <= set(registered)
    assert len({registered[c][0] for c in crosscheck_torch.CHECKS}) >= 4     # at least four mechanisms
    for name in ("blocks_mlp_relu", "hyper_sinkhorn_unrolled"):
        case = reference.make_case(name)
        np.savez(tmp_path / f"{name}.npz", mechanism=np.array(case.mechanism), config=np.array("{}"))
    found = crosscheck_torch.targets(str(tmp_path))
    assert sorted(os.path.basename(p) for p, _ in found) == ["blocks_mlp_relu.npz", "hyper_sinkhorn_unrolled.npz"]
    with pytest.raises(ValueError, match="--cases"):
        crosscheck_torch.targets(str(tmp_path / "nothing"))


@pytest.mark.slow
def test_torch_implementations_pass_and_a_wrong_one_fails(capsys):
    torch = pytest.importorskip("torch")
    assert crosscheck_torch.main([]) == 0
    out = capsys.readouterr().out
    assert f"{len(crosscheck_torch.CHECKS)} cases: {len(crosscheck_torch.CHECKS)} passed" in out

    def rows_first(x, config):       # normalises rows before columns: the other public convention
        L = x["logits"]
        for _ in range(config["rounds"]):
            L = L - torch.logsumexp(L, dim=-1, keepdim=True)
            L = L - torch.logsumexp(L, dim=-2, keepdim=True)
        return {"R": torch.exp(L)}
    report = reference.crosscheck(crosscheck_torch.autograd_vjp(rows_first), "hyper_sinkhorn_unrolled")
    assert not report.passed
    assert report["hyper_sinkhorn_unrolled"]["out.R"] > 1e-6
