# The project's entry point. `make check` is what CI runs.
UV ?= uv
RUN := $(UV) run --frozen

.PHONY: help sync generate check-generated lint format typecheck test check bench reliability demo clean

help:
	@echo "make generate | check-generated | lint | format | typecheck | test | check | bench | demo"

sync:
	$(UV) sync --frozen

generate: sync
	$(RUN) python -m codegen

check-generated: sync
	$(RUN) python -m codegen --check

lint: sync
	$(RUN) ruff check src codegen tests bench
	$(RUN) ruff format --check src codegen tests bench

format: sync
	$(RUN) ruff check --fix src codegen tests bench
	$(RUN) ruff format src codegen tests bench

typecheck: sync
	$(RUN) pyright

test: sync
	$(RUN) pytest

check: check-generated lint typecheck test

bench: sync
	$(RUN) python -m bench

# The long reliability runs (faults, kill -9, floods); figures go to bench/reliability/RESULTS.md.
reliability: sync
	$(RUN) python -m bench.reliability

demo: sync
	$(RUN) arcp demo

clean:
	rm -rf codegen/_staging .pytest_cache .ruff_cache dist build
