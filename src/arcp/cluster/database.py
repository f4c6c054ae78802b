"""The shared-database contract of a cluster node, defined by the stores that implement it
(:mod:`arcp.store.cluster`) and re-exported here for the cluster code and applications."""

from __future__ import annotations

from arcp.store.cluster import CHANNELS, ClusterDatabase, Clustered

__all__ = ["CHANNELS", "ClusterDatabase", "Clustered"]
