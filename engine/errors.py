"""The engine's errors, in a module without numba, so a caller can catch them without loading kernels."""


class ConvergenceError(RuntimeError):
    """A fit (or bootstrap rounds of it) did not reach its tolerance within max_iter iterations."""
