"""simulate_batch on a real dask.distributed cluster (two worker processes) equals the local run.

dask[distributed] is in the package's `test` extra, so CI runs this test; it is not skipped."""

from __future__ import annotations

import numpy as np

import osteogrn as og


def test_dask_local_cluster_equals_local_run():
    from dask.distributed import Client, LocalCluster, get_task_stream

    model = og.load_model("osteogenic")
    protocols = [og.load_protocol("osteogenic_medium"), og.load_protocol("om_bmp2")]
    rng = np.random.default_rng(6)
    # 12 sets around the model's values, inside the bounds.
    sets = np.column_stack([rng.uniform(1, 100, 12),      # K_dex [0.1, 1000]
                            rng.uniform(0.1, 2.0, 12),    # b_runx2 [0, 10]
                            rng.uniform(1.0, 6.0, 12)])   # K_pi [0.1, 50]
    names = ["K_dex", "b_runx2", "K_pi"]
    t = np.arange(0, 22.0)
    local = og.simulate_batch(model, protocols, sets, param_names=names, t=t, threads=2)
    assert not local.failed.any()

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with get_task_stream(client) as stream:
            remote = og.simulate_batch(model, protocols, sets, param_names=names, t=t,
                                       executor=client)
        # Default chunking: max(1, 12 // (4 * 2)) = 1 set per chunk, 12 chunks on 2 workers.
        assert len(stream.data) == 12
        assert len({task["worker"] for task in stream.data}) == 2
        small = og.simulate_batch(model, protocols, sets, param_names=names, t=t,
                                  executor=client, chunk_size=5)

    assert np.array_equal(remote.values, local.values)
    assert np.array_equal(remote.failed, local.failed)
    assert np.array_equal(small.values, local.values)
    assert remote.output_names == local.output_names
    np.testing.assert_array_equal(remote.t, local.t)
