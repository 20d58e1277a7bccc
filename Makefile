# The two commands of the README: `make run` and `make test`. Everything else is a part of them.
.PHONY: run test deps test-env test-unit test-integration test-e2e bench clean

PYTEST := .venv/bin/python -m pytest

run: deps
	.venv/bin/python -m devstack.run

test: deps test-env
	$(PYTEST) tests

deps:
	@bash devstack/bootstrap.sh

test-env: deps
	@.venv/bin/python -m devstack.test_env

test-unit: deps
	$(PYTEST) tests/unit

test-integration: deps test-env
	$(PYTEST) tests/integration

test-e2e: deps test-env
	$(PYTEST) tests/e2e

bench: deps
	.venv/bin/python -m bench.e2e $(BENCH_ARGS)

clean:
	rm -rf .venv .venv-store .pytest_cache
