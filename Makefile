# twinrouter — the commands a user runs. `make demo` and `make test` set up
# everything they need first (scripts/setup.sh is idempotent).

VENV    := .venv
PY      := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo bench lint p4 synth clean

setup:
	@scripts/setup.sh

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# A Mininet network of twinrouters on the HDL target (docs/demo.md); DEMO_ARGS="--target bmv2" for BMv2.
DEMO_ARGS ?=
demo: setup
	@$(VENV)/bin/twinrouter demo $(DEMO_ARGS)

bench: setup
	@$(PY) -m tests.bench

lint: setup
	@$(VENV)/bin/ruff check hdl controller sim tests
	@$(VENV)/bin/ruff format --check hdl controller sim tests

# Recompiles the P4 program; needs p4c-bm2-ss (see docs/p4.md).
p4:
	@mkdir -p p4/build
	p4c-bm2-ss --std p4-16 --arch v1model -I p4 \
		--p4runtime-files p4/build/router.p4info.txtpb \
		-o p4/build/router.json p4/router.p4

# Bitstreams for both boards with the yowasp tools; fails when a clock misses timing.
BOARD ?= colorlight-5a75b versa-ecp5
synth: setup
	@for board in $(BOARD); do $(VENV)/bin/twinrouter synth --board $$board || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build sim_build
