"""What the tests need to know of the machine they run on."""

from __future__ import annotations

from pathlib import Path


def processor() -> str:
    """The processor's model name (Linux), which compiled float32 arithmetic rounds by (and
    OpenBLAS picks its kernels by); "unknown" elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")),
                "unknown")  # fmt: skip
