"""Structure the client keeps (issue 17, items 3-4): ``Client`` composes its driver, handles
and the driver talk through public methods, and the sans-IO session is one class."""

from __future__ import annotations

import inspect
from pathlib import Path

from arcp.client import Client
from arcp.client.driver import ClientDriver
from arcp.client.handle import JobStream, StreamOwner
from arcp.protocol.client_session import ClientSession

CLIENT_SRC = Path(__file__).resolve().parents[2] / "src" / "arcp" / "client"


def test_client_composes_its_driver() -> None:
    assert not issubclass(Client, ClientDriver)
    assert Client.__mro__[1:] == (object,)


def test_the_session_is_one_class() -> None:
    assert ClientSession.__mro__[1:] == (object,)


def test_the_driver_is_a_stream_owner() -> None:
    """The driver offers every method of the interface streams use, publicly."""
    wanted = {n for n, _ in inspect.getmembers(StreamOwner) if not n.startswith("_")}
    assert wanted == {"processed", "cancel_job", "unsubscribe"}
    for name in wanted:
        assert callable(getattr(ClientDriver, name))
    for name in ("feed_event", "feed_outcome", "add_view", "remove_view"):
        assert callable(getattr(JobStream, name))


def test_no_private_access_across_client_modules() -> None:
    """No module in arcp.client silences pyright's reportPrivateUsage."""
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(CLIENT_SRC.glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "reportPrivateUsage" in line
    ]
    assert offenders == []
