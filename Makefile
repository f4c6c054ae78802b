# The project's entry point. `make check` is what CI runs.
UV ?= uv
RUN := $(UV) run --frozen

.PHONY: help sync generate check-generated check-spec check-ts lint actionlint format typecheck test test-lowest check bench reliability demo clean

help:
	@echo "make generate | check-generated | check-spec | check-ts | lint | actionlint | format | typecheck | test | test-lowest | check | bench | demo"

sync:
	$(UV) sync --frozen

generate: sync
	$(RUN) python -m codegen

check-generated: sync
	$(RUN) python -m codegen --check

# The wire contract under two independent validators: Python jsonschema (format asserted)
# and ajv 2020 in its default strict mode with the keywords declared from the meta-schema
# (tests/spec/ajv, `npm ci` on first run); both must agree with spec/fixtures/manifest.json on
# every fixture. Also: the schema against its meta-schema, and one version and revision in
# every $id.
check-spec: sync
	ARCP_REQUIRE_AJV=1 $(RUN) pytest -q tests/spec/test_fixture_manifest.py tests/spec/test_ajv.py \
		tests/spec/test_meta_schema.py tests/spec/test_contract_ids.py

# The generated TypeScript bindings (spec/typescript) under `tsc --strict`, with every fixture
# of the manifest type-checked against them (tests/spec/typescript, `npm ci` on first run).
check-ts: sync
	ARCP_REQUIRE_TSC=1 $(RUN) pytest -q tests/spec/test_typescript.py

lint: sync
	$(RUN) ruff check src codegen tests bench
	$(RUN) ruff format --check src codegen tests bench

format: sync
	$(RUN) ruff check --fix src codegen tests bench
	$(RUN) ruff format src codegen tests bench

# The GitHub workflows (.github/workflows/*.yml).
actionlint: sync
	$(RUN) actionlint

typecheck: sync
	$(RUN) pyright

test: sync
	$(RUN) pytest

# The suite on the lowest versions pyproject.toml allows, in .venv-lowest (uv.lock untouched).
test-lowest:
	.ci/test-lowest

check: check-generated check-spec check-ts lint actionlint typecheck test

# The benchmarks; the optional `bench` group brings matplotlib for the plots in bench/plots.
bench: sync
	$(RUN) --group bench python -m bench

# The long reliability runs (faults, kill -9, floods); figures go to bench/reliability/RESULTS.md.
reliability: sync
	$(RUN) python -m bench.reliability

demo: sync
	$(RUN) arcp demo

clean:
	rm -rf codegen/_staging .pytest_cache .ruff_cache dist build .venv-lowest .venv-lowest.requirements.txt tests/spec/ajv/node_modules tests/spec/typescript/node_modules
