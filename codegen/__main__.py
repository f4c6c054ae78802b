"""``python -m codegen [--check]``."""

from __future__ import annotations

import argparse
import sys

from codegen.generate import check, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a staging folder and fail with a diff if src/arcp_gen differs",
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        if problems:
            sys.stdout.write(problems)
            sys.stdout.write(
                "\nsrc/arcp_gen is out of date with the schema: run `make generate`.\n"
            )
            return 1
        sys.stdout.write("src/arcp_gen matches the schema.\n")
        return 0
    written = generate()
    sys.stdout.write(f"generated {len(written)} files into src/arcp_gen\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
