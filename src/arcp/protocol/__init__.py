"""The sans-IO protocol core: pure state machines, no asyncio, no sockets.

Each machine is fed decoded messages and the current time, and answers with frames to send
and the next deadline it needs a call at. The asyncio client and runtime drive them.
"""

__all__: list[str] = []
