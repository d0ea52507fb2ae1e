"""ff-theorem-terms: self-check of pairwise_terms and batch_sums against their definitions (eq. 6, 8)."""
import numpy as np

from hcref.ff import theorems

rng = np.random.default_rng(12)


def test_batch_sums_by_definition():
    h_i, h_k = np.maximum(rng.standard_normal((3, 6)), 0), np.maximum(rng.standard_normal((4, 6)), 0)
    x_i, x_k = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    A, B = theorems.batch_sums(h_i, h_k, x_i, x_k)
    for i in range(3):
        m = h_i[i] > 0
        cos = [x_k[k] @ x_i[i] / np.linalg.norm(x_k[k]) / np.linalg.norm(x_i[i]) for k in range(4)]
        A_i = sum(np.abs(h_k[k] * m).sum() * cos[k] for k in range(4))
        B_i = sum(h_i[i] @ (h_k[k] * m) / np.linalg.norm(h_i[i]) * cos[k] for k in range(4))
        np.testing.assert_allclose([A[i], B[i]], [A_i, B_i], rtol=1e-10, atol=1e-12)
    terms = theorems.pairwise_terms(h_i, h_k, x_i, x_k)
    np.testing.assert_allclose(np.sum(terms["l1"] * terms["cos_x"], axis=1), A, rtol=1e-10)
