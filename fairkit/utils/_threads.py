"""One BLAS thread around iterative solvers on small matrices.

scipy's L-BFGS-B and the solvers' own matrix-vector products work on vectors of a few
hundred numbers per iteration; with OpenBLAS at two threads on shared cores each call paid
thread hand-over costs far above the arithmetic (PrejudiceRemover on Adult: 8 ms of CPU
per L-BFGS iteration with two threads, 0.07 ms with one; LearnedFairRepresentations on
8,000 x 30 rows: 3.4x less CPU). Row-sized products are memory-bound, so one thread loses
little there either.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

__all__ = ["single_blas_thread"]


def single_blas_thread():
    """Context manager limiting BLAS to one thread (OpenMP is left alone)."""
    return threadpool_limits(limits=1, user_api="blas")
