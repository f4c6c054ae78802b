"""The asyncio ARCP client (§6-§8): :class:`Client`, :class:`JobHandle`, :class:`Subscription`.

::

    async with Client.connect("ws://127.0.0.1:7777/arcp", token="...") as client:
        handle = await client.submit("echo", {"hello": "world"})
        async for event in handle:
            print(event.payload.kind, event.payload.body)
        print(await handle.result())
"""

from arcp.client.client import Client
from arcp.client.connection import ConnectionFactory, Target
from arcp.client.errors import ConnectionLostError, UnsubscribedError
from arcp.client.handle import JobHandle, JobStream, Subscription
from arcp.client.lease import Lease, LeaseConstraints, ProvisionedCredential
from arcp.client.ticket import SessionTicket

__all__ = [
    "Client",
    "ConnectionFactory",
    "ConnectionLostError",
    "JobHandle",
    "JobStream",
    "Lease",
    "LeaseConstraints",
    "ProvisionedCredential",
    "SessionTicket",
    "Subscription",
    "Target",
    "UnsubscribedError",
]
