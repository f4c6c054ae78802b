"""A deliberately wrong or broken decoder for the fixture runner's tests.

``python fake_decoder.py MODE [FIXTURE_ID ...]`` speaks the NDJSON protocol of
docs/fixture-runner.md. It asks this SDK's adapter for the right answer, then:

- ``flip``: turns accept into reject and reject into accept for the ids given (every
  fixture with ``all``);
- ``mistype``: reports every accepted frame as type ``session.ping``;
- ``crash``: writes to stderr and exits with status 7 after its hello;
- ``silent``: says hello, then reads without ever answering;
- ``garbage``: answers the first fixture with a line that is not JSON;
- ``wrong-id``: answers the first fixture with another id;
- ``bad-hello``: answers the hello with protocol version 99;
- ``runtime-only``: decodes only as a runtime.
"""

from __future__ import annotations

import json
import sys
import time

from arcp.conformance.fixture_decoder import answer


def _say(message: dict[str, object]) -> None:
    print(json.dumps(message), flush=True)


def main() -> int:
    mode, ids = sys.argv[1], set(sys.argv[2:])
    sys.stdin.readline()
    if mode == "bad-hello":
        _say({"arcp_fixtures": 99, "roles": ["client"]})
        time.sleep(30)
        return 0
    roles = ["runtime"] if mode == "runtime-only" else ["client", "runtime"]
    _say({"arcp_fixtures": 1, "name": f"fake-{mode}", "version": "0", "roles": roles})
    if mode == "crash":
        print("fake decoder: giving up on purpose", file=sys.stderr, flush=True)
        return 7
    for line in sys.stdin:
        request = json.loads(line)
        if mode == "silent":
            continue
        if mode == "garbage":
            print("this is not json", flush=True)
            continue
        verdict = answer(request["frame"], request["role"])
        if mode == "flip" and ("all" in ids or request["id"] in ids):
            if verdict["outcome"] == "accept":
                verdict = {"outcome": "reject", "code": "INVALID_REQUEST", "detail": "flipped"}
            else:
                verdict = {"outcome": "accept", "type": "session.ping"}
        if mode == "mistype" and verdict["outcome"] == "accept":
            verdict = {**verdict, "type": "session.ping"}
        fid = "not-" + request["id"] if mode == "wrong-id" else request["id"]
        _say({"id": fid, **verdict})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
