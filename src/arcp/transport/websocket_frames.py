"""RFC 6455 §5.2 framing of plain data frames: the two hot paths of the WebSocket transport.

``websockets``' Sans-I/O protocol objects parse and build every frame through Python
generators and frame objects, which costs more per frame than decoding the ARCP message in
it. For the frames that dominate an event stream (a server's unmasked, final, uncompressed
text frames) the transport does the framing itself with these two functions, from the RFC,
and leaves every other frame to the protocol object:

* :func:`cut_plain_frames` takes the complete plain data frames at the start of a client's
  received bytes and says where the first frame it does not take begins;
* :func:`text_header` builds the header of an unmasked, final text frame for a server.

Nothing here reads or writes any state of ``websockets``; the transport decides when they
apply (see :mod:`arcp.transport.websocket_io`).
"""

from __future__ import annotations

__all__ = ["FOREIGN", "cut_plain_frames", "text_header"]

FOREIGN = -1
"""``cut_plain_frames`` status: a frame it does not take starts at the returned position."""

_SMALL_HEADERS = tuple(bytes((0x81, n)) for n in range(126))


def text_header(length: int) -> bytes:
    """The header of an unmasked, final text frame (RFC 6455 §5.2) carrying ``length`` bytes."""
    if length < 126:
        return _SMALL_HEADERS[length]
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big")
    return b"\x81\x7f" + length.to_bytes(8, "big")


def cut_plain_frames(
    data: bytes, limit: int | None, out: list[tuple[bool, bytes]]
) -> tuple[int, int]:
    """Append ``(is_text, payload)`` to ``out`` for every complete plain frame at the start
    of ``data``: FIN set, no reserved bit, opcode text (0x1) or binary (0x2), not masked, at
    most ``limit`` bytes of payload (None: no limit).

    Returns ``(position, status)``: ``status`` is :data:`FOREIGN` when the frame at
    ``position`` is not a plain one (a control frame, a fragment, a compressed or masked
    frame, one over the limit), else 0 and ``data[position:]`` is the start of a frame not
    complete yet."""
    end = len(data)
    pos = 0
    append = out.append
    while end - pos >= 2:
        head = data[pos]
        length = data[pos + 1]  # the mask bit (0x80) set makes it > 127: not plain
        start = pos + 2
        if length == 126:
            if end - pos < 4:
                break
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            start = pos + 4
        elif length == 127:
            if end - pos < 10:
                break
            length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            start = pos + 10
        elif length > 127:
            return pos, FOREIGN
        if (head != 0x81 and head != 0x82) or (limit is not None and length > limit):
            return pos, FOREIGN
        stop = start + length
        if stop > end:
            break
        append((head == 0x81, data[start:stop]))
        pos = stop
    return pos, 0
