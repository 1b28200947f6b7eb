"""The benchmarks' BLAS set-up: a script that imports ``clean_blas`` runs without the
machine's OpenBLAS overrides, says which were removed, and keeps them when asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = (
    "import sys; sys.path.insert(0, {where!r})\n"
    "import clean_blas, os\n"
    "print(os.environ.get('OPENBLAS_CORETYPE'), os.environ.get('OPENBLAS_L2_SIZE'), sys.argv[1:])\n"
    "print(clean_blas.blas_report())\n"
)


def run(tmp_path: Path, *args: str) -> list[str]:
    script = tmp_path / "bench.py"
    script.write_text(SCRIPT.format(where=str(BENCHMARKS)))
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"}
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                         check=True, env=env)  # fmt: skip
    return out.stdout.splitlines()


def test_the_overrides_are_removed_and_reported(tmp_path: Path) -> None:
    seen, report = run(tmp_path, "--repeats", "2")
    assert seen == "None None ['--repeats', '2']"
    assert "removed from the environment for this run: OPENBLAS_CORETYPE=Haswell" in report
    assert "core type" in report


def test_keep_blas_env_keeps_them(tmp_path: Path) -> None:
    seen, report = run(tmp_path, "--keep-blas-env")
    assert seen == "Haswell 512 []"
    assert "kept (--keep-blas-env)" in report


@pytest.mark.slow
def test_the_sweep_benchmark_runs_and_reports_its_ratio() -> None:
    """A short run on the embedded set: the script still fits the sweep's own functions."""
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_sweep.py"), "--data", "mini", "--rates", "4",
         "--seeds", "1", "--epochs", "1", "--alone", "2"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("stacked "))
    assert "× faster" in line
    assert '"configs": 4' in out.stdout
