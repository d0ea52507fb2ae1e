"""Measure what ``hcref.optim.Adam`` saves by updating its moments in place, block by block.

Times ``Adam.step`` against the allocating form of the same formulas (fresh arrays for every
intermediate, whole-array passes; the form ``hcref/optim.py`` had before) on the parameter sets of
the full-size benchmark models, interleaved, median of ``--repeats``, and checks that both give
bit-identical parameters. ``--threads`` sets NumPy's BLAS threads and the threads of hcref's Adam (which
shares a large parameter's blocks out among them); the allocating form runs on one.

    python scripts/bench_adam.py [--repeats 7] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import DEFAULT_REPEATS, interleaved_medians, limit_blas  # noqa: E402
from hcref.optim import Adam  # noqa: E402


class AllocatingAdam(Adam):
    """Adam with a new array for every intermediate (about 14 temporaries per parameter)."""

    def _update(self, k, p, g):
        m = self.beta1 * self._slot("m", k, p) + (1 - self.beta1) * g
        v = self.beta2 * self._slot("v", k, p) + (1 - self.beta2) * g * g
        self.slots["m"][k], self.slots["v"][k] = m, v
        c2 = np.sqrt(1 - self.beta2 ** self.t)               # the order of Adam._update_block
        return p + (m / (np.sqrt(v) + self.eps * c2)) * -(self.lr * c2 / (1 - self.beta1 ** self.t))


def param_sets():
    rng = np.random.default_rng(0)
    return {"FF layer (2000 x 2000 + 2000)": {"W1": rng.standard_normal((2000, 2000)), "b1": rng.standard_normal(2000)},
            "leaky ResNet (50 x 200 x 201)": {"W": rng.standard_normal((50, 200, 201))},
            "mixing stack (48 layers, 32 x 32)": {k: rng.standard_normal((48, 32, 32)) for k in ("W1", "W2")}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved repetitions (median)")
    ap.add_argument("--threads", type=int, default=1, help="NumPy BLAS threads")
    args = ap.parse_args(argv)
    limits = limit_blas(args.threads)  # noqa: F841
    rows = []
    for name, params in param_sets().items():
        grads = {k: np.random.default_rng(1).standard_normal(v.shape) for k, v in params.items()}
        a, b = AllocatingAdam(1e-3, threads=1), Adam(1e-3, threads=args.threads)
        pa, pb = a.step(params, grads), b.step(params, grads)
        for _ in range(3):
            pa, pb = a.step(pa, grads), b.step(pb, grads)
        same = all(np.array_equal(pa[k], pb[k]) for k in params)
        state = {"a": pa, "b": pb}

        def sa():
            state["a"] = a.step(state["a"], grads)

        def sb():
            state["b"] = b.step(state["b"], grads)
        med = interleaved_medians({"allocating": sa, "in place": sb}, args.repeats)
        n = sum(v.size for v in params.values())
        rows.append((name, n, med["allocating"] * 1e3, med["in place"] * 1e3, same))
        print(f"{name:36} {n:>9} params  allocating Adam {med['allocating'] * 1e3:8.2f} ms  hcref Adam "
              f"{med['in place'] * 1e3:8.2f} ms  saves {100 * (1 - med['in place'] / med['allocating']):4.0f}%  "
              f"bit-identical: {same}")
    return rows


if __name__ == "__main__":
    main()
