"""Codec throughput: ``arcp.codec.decode`` / ``encode`` beside plain ``orjson`` on one frame.

The frame is the shared benchmark envelope (:func:`bench.frames.event_frame`): a ``job.event``
carrying a ``log`` body, the message a runtime sends most. Per repeat, each of the four
operations runs in a tight loop for about ``seconds`` and yields one ops/s sample; the four are
interleaved within a repeat so machine noise lands on codec and baseline alike.

- decode: ``arcp.codec.decode(frame)`` (bytes -> typed ``JobEventMessage``, event body
  validated) against ``orjson.loads(frame)`` (bytes -> dict, no validation).
- encode: ``arcp.codec.encode(message)`` (typed message -> bytes) against
  ``orjson.dumps(obj)`` of the same envelope as a plain dict.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import orjson

from arcp.codec import decode, encode
from bench import Figure
from bench.frames import event_frame

__all__ = ["run"]

_CALIBRATION_SECONDS = 0.02


def _ops_per_second(op: Callable[[Any], object], arg: Any, loops: int) -> float:
    """Run ``op(arg)`` ``loops`` times with the GC paused; return operations per second."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            op(arg)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return loops / elapsed


def _loops_for(op: Callable[[Any], object], arg: Any, seconds: float) -> int:
    """How many calls of ``op(arg)`` take about ``seconds`` (also warms the path up)."""
    loops = 100
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            op(arg)
        elapsed = time.perf_counter() - start
        if elapsed >= _CALIBRATION_SECONDS:
            return max(1, round(loops * seconds / elapsed))
        loops *= 4


def run(repeats: int = 7, seconds: float = 0.25) -> list[Figure]:
    """Measure codec decode/encode and their ``orjson`` baselines; return two figures."""
    frame = event_frame(1)
    message = decode(frame)
    as_dict = orjson.loads(frame)
    encoded = encode(message)
    # Measure what we claim to measure: both encoders describe the same envelope.
    if orjson.loads(encoded) != as_dict:
        raise RuntimeError("codec.encode does not reproduce the benchmark frame")
    byte_exact = encoded == frame

    cases: dict[str, tuple[Callable[[Any], object], Any]] = {
        "decode": (decode, frame),
        "loads": (orjson.loads, frame),
        "encode": (encode, message),
        "dumps": (orjson.dumps, as_dict),
    }
    loops = {name: _loops_for(op, arg, seconds) for name, (op, arg) in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (op, arg) in cases.items():
            samples[name].append(_ops_per_second(op, arg, loops[name]))

    size = f"{len(frame)}-byte job.event (log)"
    dec = Figure(
        "decode: arcp.codec.decode vs orjson.loads",
        "ops/s",
        samples=samples["decode"],
        baseline=samples["loads"],
        note=f"{size} -> typed message vs -> dict",
    )
    enc = Figure(
        "encode: arcp.codec.encode vs orjson.dumps",
        "ops/s",
        samples=samples["encode"],
        baseline=samples["dumps"],
        note=f"typed message vs dict -> {size}"
        + ("; byte-identical to the input frame" if byte_exact else ""),
    )
    for fig in (dec, enc):
        base = fig.baseline_median
        if base:
            fig.note += f"; codec takes {base / fig.median:.1f}x orjson's time per op"
    return [dec, enc]
