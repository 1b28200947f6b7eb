"""Run the benchmark on the BLAS kernels this processor has: import this before NumPy.

Some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``) for older OpenBLAS
builds, which makes OpenBLAS use, say, its Haswell (AVX2) kernels on an AVX-512 processor:
its float32 products then reach a half to three quarters of the processor's peak, for every
peer that calls OpenBLAS, and the arithmetic floor computed from that peak is too low.
Importing this module re-executes the script with both removed from its environment (and
so from every process it starts), unless ``--keep-blas-env`` is on its command line; tests
and CI, which import nothing from here, keep the machine's settings.
"""

from __future__ import annotations

import os
import sys

OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REMOVED = "NUDGENET_BENCH_REMOVED_BLAS_ENV"  # what the re-executed run was started without
KEEP = "NUDGENET_BENCH_KEEP_BLAS_ENV"  # set by --keep-blas-env, for the processes it starts


def _reexec() -> None:
    if "--keep-blas-env" in sys.argv:
        sys.argv.remove("--keep-blas-env")
        os.environ[KEEP] = "1"
    if os.environ.get(KEEP):
        return
    found = {k: os.environ[k] for k in OVERRIDES if k in os.environ}
    if not found:
        return
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    env[REMOVED] = ",".join(f"{k}={v}" for k, v in found.items())
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def blas_report() -> str:
    """Which BLAS libraries are loaded, each with its core type (the kernels it runs), and
    which overrides were removed from the environment."""
    import numpy  # noqa: F401  (loads its BLAS, if nothing has yet)
    from threadpoolctl import threadpool_info

    libraries = ", ".join(
        f"{i['internal_api']} {i.get('version', '')} core type {i.get('architecture', '?')} "
        f"({i['num_threads']} threads, {os.path.basename(i['filepath'])})"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
    removed = os.environ.get(REMOVED)
    kept = {k: os.environ[k] for k in OVERRIDES if k in os.environ}
    if removed:
        how = f"removed from the environment for this run: {removed}"
    elif kept:
        how = f"kept (--keep-blas-env): {kept}"
    else:
        how = "none of " + ", ".join(OVERRIDES) + " set"
    return f"{libraries}; overrides {how}"


_reexec()
