"""CI-sized runs of ``bench stores`` and ``bench latency`` (issue #18): every scenario runs
end to end on a small load, so the benchmarks cannot rot. No timing is asserted: the
figures of a loaded CI machine mean nothing; ``make bench`` measures."""

from __future__ import annotations

from bench import latency, stores
from tests.pg_cluster import PostgresCluster


def test_bench_stores_runs_every_store_and_the_restart(postgres_cluster: PostgresCluster) -> None:
    figures = stores.run(repeats=1, events=300, replay_events=500, cluster=postgres_cluster)
    names = [fig.name for fig in figures]
    for label in ("MemoryStore", "SQLiteStore", "PostgresStore"):
        assert any(label in name for name in names if name.startswith("events/s, 1 job"))
    assert any(name.startswith("restart total") for name in names)
    assert all(fig.samples and fig.median > 0 for fig in figures)


def test_bench_latency_times_submits_beside_the_echo() -> None:
    p50, p99 = latency.run(repeats=1, submits=20)
    assert len(p50.samples) == len(p50.baseline) == 1
    assert p99.median >= p50.median > 0 and p99.baseline_median is not None
