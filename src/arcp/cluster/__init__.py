"""Several runtime nodes on one database (PostgreSQL): sessions move, jobs stay (§6.3, §7).

A session belongs to the node its client is connected to; a job runs on the node it was
submitted through. A client may resume, list, subscribe and cancel through any node: the
node asks the previous one to hand the session over, reads other nodes' jobs from the
database, and follows their event logs through database notifications.
"""

from arcp.cluster.database import CHANNELS, ClusterDatabase, Clustered

__all__ = ["CHANNELS", "ClusterDatabase", "Clustered"]
