"""``python -m codegen [--check]``."""

from __future__ import annotations

import argparse
import sys

from codegen.contract import check_contract, write_contract
from codegen.generate import SCHEMA_PATH, check, generate
from codegen.manifest import check_manifest, write_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help=(
            "fail with a diff if src/arcp_gen, a generated spec/ file (metamodel, meta-schema, "
            "package.json, spec/typescript) or spec/SHA256SUMS is out of date"
        ),
    )
    args = parser.parse_args(argv)
    if args.check:
        status = 0
        problems = check()
        if problems:
            sys.stdout.write(problems)
            sys.stdout.write(
                "\ngenerated files are out of date with the schema: run `make generate`.\n"
            )
            status = 1
        else:
            sys.stdout.write(
                "generated output (src/arcp_gen, metamodel, spec/typescript) matches the schema.\n"
            )
        contract = check_contract(SCHEMA_PATH)
        if contract:
            sys.stdout.write(contract)
            sys.stdout.write("\nspec/ is out of date with the schema: run `make generate`.\n")
            status = 1
        else:
            sys.stdout.write("spec/ meta-schema and package.json match the schema.\n")
        stale = check_manifest()
        if stale:
            sys.stdout.write(stale)
            sys.stdout.write("\nspec/SHA256SUMS is stale: run `make generate`.\n")
            status = 1
        else:
            sys.stdout.write("spec/SHA256SUMS is current.\n")
        return status
    written = generate()
    sys.stdout.write(f"generated {len(written)} files (src/arcp_gen, spec/)\n")
    for path in write_contract(SCHEMA_PATH):
        sys.stdout.write(f"wrote spec/{path.name}\n")
    manifest = write_manifest()
    sys.stdout.write(f"wrote {manifest.relative_to(manifest.parent.parent)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
