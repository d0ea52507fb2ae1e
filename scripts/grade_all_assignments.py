"""Grade every assignment three ways and report the numbers: the reference (a student copy with the
reference files put back: full marks), the fresh student copy (0, no grader error), and one mutated
solution per assignment (it must lose points on its own tests only).

    python scripts/grade_all_assignments.py [--seed N]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hcref.assign import ASSIGNMENTS  # noqa: E402
from hcref.assign.grade import grade  # noqa: E402
from hcref.assign.make import make, repo_root  # noqa: E402

# one mutation per assignment: (file, original text, mutated text)
MUTATIONS = {
    "affine-relu-backward": ("hcref/blocks.py", '"b": dy2.sum(axis=0)}', '"b": -dy2.sum(axis=0)}'),
    "softmax-cross-entropy-backward": ("hcref/blocks.py", "dloss * cache.scale * (cache.probs - cache.onehot)",
                                       "dloss * cache.scale * (cache.onehot - cache.probs)"),
    "simplex-projection-vjp": ("hcref/mixing/simplex.py", "dalpha - mean_S, 0.0", "mean_S - dalpha, 0.0"),
    "history-stack-backward": ("hcref/mixing/stack.py", "dstates[l] += suffix", "dstates[l] += g"),
    "sinkhorn-unrolled-backward": ("hcref/hyper/sinkhorn.py", "range(len(cache.normalised) - 1, -1, -1)",
                                   "range(len(cache.normalised) - 1, 1, -1)"),
    "sinkhorn-implicit-backward": ("hcref/hyper/sinkhorn.py", "(dR - u[..., :, None] - v[..., None, :]) * R",
                                   "(dR - u[..., None, :] - v[..., :, None]) * R"),
    "shc-cayley-backward": ("hcref/hyper/spectral_sphere.py", "dQ @ xp.swapaxes(eye + Q, -1, -2)",
                            "dQ @ (eye + Q)"),
    "rk4-discrete-adjoint": ("hcref/ode/adjoint.py", "g_k = sum(((h * c) * g", "g_k = sum(((h * c * 2) * g"),
    "continuous-adjoint": ("hcref/ode/adjoint.py", "-a_z, *[-a_p[k]", "a_z, *[-a_p[k]"),
    "energy-field-vjp": ("hcref/ode/energy.py", "return 2.0 * c1 * du\n", "return c1 * du\n"),
    "leaky-backward-sweep": ("hcref/leaky/network.py", "xp.dot(W[l - 1, :, :w].T, B, out=VtB)",
                             "xp.dot(W[l - 1, :, :w], B, out=VtB)"),
    "ff-local-update": ("hcref/ff/layer.py", 'return {"h": 2.0 * dG * cache.h}', 'return {"h": dG * cache.h}'),
    "ff-theorem-terms": ("hcref/ff/theorems.py", '"l2": xp.sqrt(M @ (h_k * h_k).T)', '"l2": M @ (h_k * h_k).T'),
}


def _restored(copy, dst, root):
    shutil.copytree(copy, dst)
    for a in ASSIGNMENTS:
        for r in a.regions:
            shutil.copy2(os.path.join(root, r.path), os.path.join(dst, r.path))
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root, ok = repo_root(), True
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "student")
        make(copy)
        ref = _restored(copy, os.path.join(tmp, "reference"), root)
        t0 = time.perf_counter()
        full = grade(ref, seed=args.seed)
        t_ref = time.perf_counter() - t0
        zero = grade(copy, seed=args.seed)
        secs = full["extra_data"]["seconds"]
        print(f"{'assignment':<32} {'reference':>10} {'stub':>6} {'mutated':>8} {'seconds':>8}")
        for a in ASSIGNMENTS:
            mut_dir = _restored(copy, os.path.join(tmp, f"mut-{a.id}"), root)
            path, old, new = MUTATIONS[a.id]
            text = open(os.path.join(mut_dir, path)).read()
            assert old in text, (a.id, old)
            open(os.path.join(mut_dir, path), "w").write(text.replace(old, new, 1))
            mut = grade(mut_dir, seed=args.seed)

            def score(res, aid=a.id):
                got = [t for t in res["tests"] if t["name"].startswith(aid + ":")]
                return sum(t["score"] for t in got), sum(t["max_score"] for t in got)
            (r, m), (z, _), (u, _) = score(full), score(zero), score(mut)
            others_full = all(t["score"] == t["max_score"] for t in mut["tests"] if not t["name"].startswith(a.id + ":"))
            good = r == m and z == 0 and u < m and others_full
            ok &= good
            print(f"{a.id:<32} {r:>5g}/{m:<4g} {z:>6g} {u:>8g} {secs[a.id]:>8.1f}  {'ok' if good else 'FAILED'}")
        print(f"total: reference {full['score']:g}, stub {zero['score']:g}; grading all took {t_ref:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
