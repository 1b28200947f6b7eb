"""The distributed back end: a real local Dask cluster gives the single-machine table."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "distributed", reason="Dask distributed is not installed (pip install 'dask[distributed]')"
)

from nudgenet.training.sweep import Grid, Sweep, SweepSpec, run_sweep

SPEC = SweepSpec(data="mini", sizes=(784, 6, 10), epochs=1, dtype="float64", limit=200)


@pytest.mark.slow
def test_cluster_table_equals_single_machine_table():
    from distributed import LocalCluster

    grid = Grid(lrs=(0.3, 1.0, 3.0), seeds=(0, 1), batch_sizes=(10, 0))
    local = run_sweep(Sweep(SPEC, grid), chunk=4).table()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        gathered = run_sweep(Sweep(SPEC, grid), chunk=4, cluster=cluster.scheduler_address)
    table = gathered.table()
    assert [r["key"] for r in table] == [r["key"] for r in local]
    for a, b in zip(table, local, strict=True):
        assert a["history"] == b["history"]  # same stacks, same arithmetic: bit for bit
        assert {k: v for k, v in a.items() if k != "seconds"} == {
            k: v for k, v in b.items() if k != "seconds"
        }
    assert gathered.runs[0]["cluster"].startswith("tcp://127.0.0.1")
    assert len(gathered.runs[0]["ran"]) == 12
    workers = gathered.runs[0]["workers"]
    assert workers
    assert all(w.startswith("tcp://127.0.0.1") for w in workers)
