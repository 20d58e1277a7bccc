# The two commands of the README: `make run` and `make test`. Everything else is a part of them.
.PHONY: run test deps test-env test-unit test-integration test-e2e bench bench-pages bench-downloads clean admin evaluate

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

# Officer accounts in the local run's store (while `make run` is up): asks the password twice.
#   make admin USERNAME=budi.s ROLE=national_admin [AGENCY=KOTA-18.72] [NAME="Budi S"]
#   make admin ADMIN_ARGS=list   (or ADMIN_ARGS="disable --username budi.s")
admin: deps
	LAPOR_MONGO_URI="$${LAPOR_MONGO_URI:-mongodb://127.0.0.1:$${LAPOR_STORE_PORT:-27017}/}" \
	  .venv/bin/python -m services.gateway.admin $(or $(ADMIN_ARGS),create --username "$(USERNAME)" --role "$(ROLE)" \
	  $(if $(AGENCY),--agency "$(AGENCY)") $(if $(NAME),--name "$(NAME)"))

# Triage on the labelled reports (services/routing/data/evaluation.jsonl): accuracy, out-of-scope hints and
# auto-disposition precision/coverage by threshold. No bus or store needed.  EVALUATE_ARGS="--show-errors"
evaluate: deps
	.venv/bin/python -m services.routing.evaluate $(EVALUATE_ARGS)

# Events a handler gave up on (parked after its retries), per service, over the bus of the local run:
#   make dead-events                                   (list them; contacts and secrets hidden)
#   make dead-events DEAD_EVENTS_ARGS="replay --service routing --event-type report_updated --until-done"
# Encrypt every reporter contact, pending access code and file name again with the newest PII key, once
# LAPOR_PII_KEY (or var/secrets.env's, for make run) is "<new>,<old>" and intake has restarted on it.
.PHONY: rotate-pii-key
rotate-pii-key: deps
	@LAPOR_MONGO_URI="$${LAPOR_MONGO_URI:-mongodb://127.0.0.1:$${LAPOR_STORE_PORT:-27017}/}" \
	  LAPOR_PII_KEY="$${LAPOR_PII_KEY:-$$(sed -n 's/^LAPOR_PII_KEY=//p' var/secrets.env 2>/dev/null)}" \
	  .venv/bin/python -m services.intake.rotate_pii_key

.PHONY: dead-events
dead-events: deps
	@LAPOR_MONGO_URI="$${LAPOR_MONGO_URI:-mongodb://127.0.0.1:$${LAPOR_STORE_PORT:-27017}/}" \
	  LAPOR_AMQP_URI="$${LAPOR_AMQP_URI:-$$(.venv/bin/python -m devstack.bus_accounts local-uri gateway)}" \
	  .venv/bin/python -m services.gateway.dead_events $(or $(DEAD_EVENTS_ARGS),list)

bench: deps
	.venv/bin/python -m bench.e2e $(BENCH_ARGS)

# The web pages with 100k reports in a store of its own (var/bench/), on a stack of its own: no `make run` needed.
bench-pages: deps
	.venv/bin/python -m bench.pages $(BENCH_ARGS)

# What public attachment downloads cost the gateway (memory, a trivial GET meanwhile), on a stack of its own.
bench-downloads: deps
	.venv/bin/python -m bench.downloads $(BENCH_ARGS)

clean:
	rm -rf .venv .venv-store .pytest_cache

# Fault injection (issue 12): kill -9 each service, an intake replica, the broker and the store under HTTP load, on a
# RabbitMQ node, store and stack of its own; one row per scenario. `make test` runs a short version (tests/chaos).
#   make chaos CHAOS_ARGS="--scenarios routing,broker --reports 200"   (python -m chaos --help)
.PHONY: chaos
chaos: deps
	.venv/bin/python -m chaos $(CHAOS_ARGS)
