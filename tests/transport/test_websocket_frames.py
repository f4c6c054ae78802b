"""The RFC 6455 §5.2 framing of plain data frames (``arcp.transport.websocket_frames``),
checked against ``websockets``' own framing of the same messages."""

from __future__ import annotations

import pytest
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from arcp.transport.websocket_frames import FOREIGN, cut_plain_frames, text_header

LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70_000]


def _server() -> ServerProtocol:
    return ServerProtocol(state=State.OPEN, max_size=None)


@pytest.mark.parametrize("length", LENGTHS)
def test_text_header_matches_websockets_framing(length: int) -> None:
    protocol = _server()
    payload = b"x" * length
    protocol.send_text(payload)
    assert b"".join(protocol.data_to_send()) == text_header(length) + payload


def test_cutting_at_every_split_point_gives_the_messages_back() -> None:
    protocol = _server()
    messages = [(True, b'{"a":1}'), (False, b"\x00\xff"), (True, b"y" * 300), (True, b"")]
    for is_text, payload in messages:
        (protocol.send_text if is_text else protocol.send_binary)(payload)
    stream = b"".join(protocol.data_to_send())
    for split in range(len(stream) + 1):
        got: list[tuple[bool, bytes]] = []
        pos, status = cut_plain_frames(stream[:split], None, got)
        assert status == 0
        rest = stream[pos:split] + stream[split:]
        more, status = cut_plain_frames(rest, None, got)
        assert (status, more) == (0, len(rest))
        assert got == messages


@pytest.mark.parametrize("kind", ["ping", "fragment", "masked", "over-limit"])
def test_other_frames_are_left_at_their_position(kind: str) -> None:
    protocol = _server()
    protocol.send_text(b"first")
    first = b"".join(protocol.data_to_send())
    if kind == "ping":
        protocol.send_ping(b"p")
    elif kind == "fragment":
        protocol.send_text(b"part", fin=False)
    elif kind == "over-limit":
        protocol.send_text(b"z" * 101)
    tail = b"".join(protocol.data_to_send())
    if kind == "masked":  # what a client sends
        client = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)
        client.send_text(b"masked")
        tail = b"".join(client.data_to_send())
    stream = first + tail
    got: list[tuple[bool, bytes]] = []
    assert cut_plain_frames(stream, 100, got) == (len(first), FOREIGN)
    assert got == [(True, b"first")]
