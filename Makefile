# Self-installing entry points. Every target creates .venv from the pinned lock when it is missing.
#   make replicate                 # the full replication, paper scale (SCALE=quick | smoke)
#   make replicate TARGET=tf_dynamics SCALE=quick
#   make test                      # every fast test (make test-slow: the slow ones)
#   make figures                   # figures, tables, claims, report from the shipped runs (SCALE=quick)
#   make ship                      # after a workflow run: ship its finished figures (docs/shipped_results.md)
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
SCALE ?= paper
PROFILE ?= default
TARGET ?= all
SNAKEMAKE_ARGS ?=
CONFIG := config/$(if $(filter paper,$(SCALE)),config,$(SCALE)).yaml
# Targets go first: --configfile takes several values and would swallow them.
SNAKEMAKE_OPTS := --workflow-profile profiles/$(PROFILE) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)

# Rules call `python`, `papermill` and `impreg` from the environment: put the venv first.
export PATH := $(BIN):$(PATH)

.PHONY: venv replicate figures ship test test-slow test-all lint report benchmark clean

$(VENV)/.installed: envs/requirements.lock envs/requirements-slurm.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r envs/requirements.lock
	$(BIN)/python -m pip install -q -r envs/requirements-slurm.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (impreg)" > /dev/null
	touch $@

venv: $(VENV)/.installed

replicate: venv
	@test "$(PROFILE)" != slurm || $(BIN)/python -c "import snakemake_executor_plugin_slurm" 2>/dev/null || { echo "PROFILE=slurm needs the SLURM executor plugin: $(BIN)/pip install -r envs/requirements-slurm.txt"; exit 2; }
	@test -f $(CONFIG) || { echo "no config for SCALE=$(SCALE): expected $(CONFIG) (use paper, quick or smoke)"; exit 2; }
	$(BIN)/snakemake $(TARGET) $(SNAKEMAKE_OPTS)

# The shipped outcome (docs/shipped_results.md): `figures` reads results/shipped/$(SCALE) and writes
# results/from_shipped/$(SCALE), training nothing; `ship` copies a finished workflow run's runs in
# (RUNS_COMMIT: the commit that made them, default HEAD; FIGURES: only these), makes the figures from
# them and copies those over the shipped outputs (runs copied into results/shipped by hand: give
# RUNS_COMMIT).
SHIPPED := results/shipped/$(SCALE)
FROM_SHIPPED := results/from_shipped/$(SCALE)
RUNS_COMMIT ?=
FIGURES ?=

figures: venv
	@test -f $(CONFIG) || { echo "no config for SCALE=$(SCALE): expected $(CONFIG) (use paper or quick)"; exit 2; }
	$(BIN)/snakemake all $(SNAKEMAKE_OPTS) --config from_shipped=True
	@echo "made from $(SHIPPED): $(FROM_SHIPPED)/REPLICATION.md"

ship: venv
	$(BIN)/python -m impreg ship-runs --results results --to $(SHIPPED) --scale $(SCALE) --config $(CONFIG) \
		$(if $(RUNS_COMMIT),--runs-commit $(RUNS_COMMIT)) $(if $(FIGURES),--figures $(FIGURES))
	$(MAKE) figures SCALE=$(SCALE) PROFILE=$(PROFILE)
	$(BIN)/python -m impreg ship-outputs --made $(FROM_SHIPPED) --to $(SHIPPED) --scale $(SCALE) --config $(CONFIG) \
		$(if $(RUNS_COMMIT),--runs-commit $(RUNS_COMMIT))

# Test files run on PYTEST_WORKERS processes, each file whole on one of them (a file's module
# fixtures, such as the smoke DAG or the throw-away SLURM cluster, are set up once).
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile

test: venv
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

test-slow: venv
	$(BIN)/python -m pytest -q -m slow

test-all: venv
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not gpu"

lint: venv
	$(BIN)/snakemake --lint --configfile config/smoke.yaml
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/nbstripout --verify notebooks/*.ipynb

report: venv
	$(BIN)/snakemake report $(SNAKEMAKE_OPTS)
	$(BIN)/snakemake $(SNAKEMAKE_OPTS) --report results/report.html

benchmark: venv
	$(BIN)/python benchmarks/tf_dynamics_step.py --threads 1
	$(BIN)/python benchmarks/tf_dynamics_step.py --threads 1 --dtype float64 --full-runs

# everything generated, but not the shipped outcome (tracked in git)
clean:
	find results -mindepth 1 -maxdepth 1 ! -name shipped -exec rm -rf {} + 2>/dev/null || true
	rm -rf .snakemake
