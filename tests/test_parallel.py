"""hcref.parallel: pieces of one computation on threads, BLAS held at one thread meanwhile."""
import threading

import numpy as np
import pytest

from hcref.parallel import resolve_threads, run_pieces, split_range


def test_split_range_covers_the_range_in_nearly_equal_contiguous_slices():
    for n, pieces, min_size in [(10, 3, 1), (1000, 2, 256), (7, 7, 1), (0, 4, 1), (5, 1, 1)]:
        slices = split_range(n, pieces, min_size)
        covered = [i for s in slices for i in range(n)[s]]
        assert covered == list(range(n))
        lengths = [s.stop - s.start for s in slices]
        assert len(slices) <= pieces and max(lengths) - min(lengths) <= 1
    assert len(split_range(1000, 4, 256)) == 3          # no slice shorter than min_size
    assert split_range(300, 2, 256) == [slice(0, 300)]  # too few for two


@pytest.mark.parametrize("args, err", [((-1, 2), ValueError), ((10, 0), ValueError), ((10, 2, 0), ValueError),
                                       ((10.0, 2), TypeError), ((10, "2"), TypeError)])
def test_split_range_rejects_bad_arguments(args, err):
    with pytest.raises(err):
        split_range(*args)


def test_resolve_threads():
    assert resolve_threads(3) == 3
    assert resolve_threads(None) >= 1
    for bad, err in ((0, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)):
        with pytest.raises(err, match="threads"):
            resolve_threads(bad)


def test_run_pieces_keeps_the_order_and_uses_other_threads():
    names = run_pieces(lambda i: (i, threading.current_thread().name), range(3))
    assert [i for i, _ in names] == [0, 1, 2]
    assert names[0][1] == threading.current_thread().name        # the caller runs the first piece
    assert all(n != names[0][1] for _, n in names[1:])           # the pool the others


def test_run_pieces_holds_blas_at_one_thread_and_restores_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    before = blas_counts()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    inside = run_pieces(lambda i: blas_counts(), range(2))
    assert inside == [[1] * len(before)] * 2
    assert blas_counts() == before


def test_run_pieces_raises_a_pieces_error_after_all_pieces_finish():
    done = []

    def piece(i):
        if i == 1:
            raise KeyError("piece 1")
        done.append(i)
        return i
    with pytest.raises(KeyError, match="piece 1"):
        run_pieces(piece, range(3))
    assert sorted(done) == [0, 2]


def test_nested_run_pieces_runs_in_order_without_deadlock():
    def outer(i):
        return run_pieces(lambda j: (i, j, threading.current_thread().name), range(2))
    out = run_pieces(outer, range(2))
    for i, inner in enumerate(out):
        assert [(a, b) for a, b, _ in inner] == [(i, 0), (i, 1)]
        assert inner[0][2] == inner[1][2]                            # one thread ran both inner pieces


def test_one_item_runs_in_the_calling_thread():
    assert run_pieces(lambda i: threading.current_thread().name, [0]) == [threading.current_thread().name]
    assert run_pieces(lambda i: i, []) == []


def test_default_threads_follows_a_threadpoolctl_limit():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from hcref.parallel import default_threads
    if not [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]:
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert default_threads() == 1
    assert default_threads() >= 1


def test_default_threads_is_the_smallest_count_of_the_loaded_blas_libraries(monkeypatch):
    # a cap reaches only the libraries loaded when it was set; one loaded later starts at the core count
    import hcref.parallel as par

    class FakeBlas:
        def __init__(self, n):
            self.n = n

        def get_num_threads(self):
            return self.n
    monkeypatch.setattr(par, "_CONTROLLER", [[FakeBlas(1), FakeBlas(2)]])
    assert par.default_threads() == 1
    monkeypatch.setattr(par, "_CONTROLLER", [[FakeBlas(4), FakeBlas(None)]])
    assert par.default_threads() == 4
    monkeypatch.setattr(par, "_CONTROLLER", [[]])
    assert par.default_threads() == 1


def test_pieces_run_in_the_callers_context():
    from hcref.backend import _ASSUME_FINITE, assume_finite
    with assume_finite():
        inside = run_pieces(lambda i: _ASSUME_FINITE.get(), range(3))
    assert inside == [True] * 3
    assert run_pieces(lambda i: _ASSUME_FINITE.get(), range(2)) == [False] * 2
