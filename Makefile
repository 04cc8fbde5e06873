# Local development stack. `make dev-up` runs it, `make test` tests everything.
# On a machine without registry access, STANDIN=1 uses the locally built
# stand-in images (`make test-env` builds them): make dev-up STANDIN=1
PYTHON ?= python3
STACK_ARGS ?=
ifeq ($(STANDIN),1)
STACK_ARGS += --env-file .ci/standin.env
endif
PROVISIONER = $(PYTHON) -m provisioner $(STACK_ARGS)

.PHONY: install dev-up dev-down dev-logs dev-reset dev-status dev-diff test test-env lint bench compose-file

# Reinstall only when the dependencies change.
INSTALL_STAMP = .installed.stamp
$(INSTALL_STAMP): pyproject.toml
	$(PYTHON) -m pip install -q -e '.[dev]'
	@touch $@

install: $(INSTALL_STAMP)

dev-up: install
	$(PROVISIONER) apply

dev-down:
	$(PROVISIONER) destroy

dev-logs:
	$(PROVISIONER) logs --follow $(SERVICE)

dev-status:
	$(PROVISIONER) status

# diff exits 2 when something would change; that is an answer, not a failure.
dev-diff:
	$(PROVISIONER) diff || [ $$? -eq 2 ]

# Deletes the data volumes: asks first unless YES=1.
dev-reset:
	$(PROVISIONER) destroy --volumes $(if $(YES),--yes,)
	$(PROVISIONER) apply

# docker-compose.yml is the export of stack.yaml (a test fails when they drift). Run with
# no stack variables set: variables stay references anyway, derived values use defaults.
compose-file:
	$(PYTHON) -m provisioner export compose -o docker-compose.yml

test-env:
	.ci/setup

# The test cluster (../shared/k8s) is started for the run and stopped after it.
test: test-env
	.ci/with-kube $(PYTHON) -m pytest -q

# ruff (style, bugs), mypy (types; strict on the pure core), import-linter (the layers
# and the fast path's imports, see [tool.importlinter] in pyproject.toml).
lint:
	ruff check .
	ruff format --check .
	mypy
	lint-imports

# Speed checks; each prints ratios against a baseline measured in the same run.
bench: test-env
	$(PYTHON) bench/stack.py
	$(PYTHON) bench/migrations.py
	$(PYTHON) bench/usage.py
	$(PYTHON) bench/mock_inference.py
