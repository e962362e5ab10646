# Self-installing entry points; `make` or `make help` lists them. Every target but help and clean
# creates .venv from the pinned lock when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
SCALE ?= paper
PROFILE ?= default
TARGET ?= all
SNAKEMAKE_ARGS ?=
CONFIG := config/$(if $(filter paper,$(SCALE)),config,$(SCALE)).yaml
RESULTS := results/$(SCALE)
# The command a run's messages tell the user to run again: theirs, TARGET and PROFILE kept.
RERUN := make replicate SCALE=$(SCALE)$(if $(filter-out all,$(TARGET)), TARGET="$(TARGET)")$(if $(filter-out default,$(PROFILE)), PROFILE=$(PROFILE))
# Targets go first: --configfile takes several values and would swallow them. The terminal shows
# progress, failures and the verdict, not every job (SNAKEMAKE_ARGS="--quiet host" shows them).
SNAKEMAKE_OPTS := --workflow-profile profiles/$(PROFILE) --configfile $(CONFIG) --quiet rules host $(SNAKEMAKE_ARGS)

# Rules call `python`, `papermill` and `impreg` from the environment: put the venv first.
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help venv replicate figures ship ship-outputs test test-slow test-all lint lint-snakemake report benchmark clean check-config

define HELP
impreg: every figure and table of Razin, Maman and Cohen (ICML 2021, 2022), each claim checked.
Each scale writes under results/SCALE alone; a stopped or failed run keeps what it finished.

  make figures [SCALE=quick]        the figures, claims, tables and reports of the runs shipped in
                                    results/shipped/SCALE, without training: under 2 minutes
                                    -> results/from_shipped/SCALE/REPLICATION.md and report.html
  make replicate SCALE=smoke        the whole workflow on tiny settings and stand-in data, to check
                                    a machine; checks no claim: 7 minutes on 2 CPU cores
  make replicate SCALE=quick        the replication on a laptop CPU, sizes cut where the papers'
                                    are out of reach: about 3 hours on 2 cores (locality: 1 h 56 min)
  make replicate                    SCALE=paper, the papers' settings: days of CPU. Its rank_complexity*
                                    and locality* figures want a GPU (locality: 36-107 GPU hours)
  make replicate TARGET=ID          one figure: tf_dynamics, tf_dynamics_variants, incremental_rank,
                                    htf_detail, rank_complexity, rank_complexity_mnist5k,
                                    rank_complexity_cifar10, rank_complexity_digits, locality,
                                    locality_resnet34; or paper1, paper2
  make report [SCALE=...]           the HTML report of the replication at SCALE (results/SCALE/report.html)
  make clean SCALE=...|all          delete results/SCALE (or every scale's), listed first;
                                    results/shipped is never touched
  make test | test-slow | lint      the fast tests (6.5 minutes on 2 cores), the slow ones, the linters
  make ship SCALE=...               after a run: ship its finished figures (docs/shipped_results.md)

Options: SCALE=paper|quick|smoke (default paper), TARGET (default all), PROFILE=slurm for a
cluster (docs/slurm.md), SNAKEMAKE_ARGS for Snakemake itself (-n: what would run).
endef
export HELP

help:
	@echo "$$HELP"

$(VENV)/.installed: envs/requirements.lock envs/requirements-slurm.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r envs/requirements.lock
	$(BIN)/python -m pip install -q -r envs/requirements-slurm.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (impreg)" > /dev/null
	touch $@

venv: $(VENV)/.installed

# the config file of SCALE exists and is valid (any error names the file, the key and the rule)
check-config: venv
	@test -f $(CONFIG) || { echo "no config for SCALE=$(SCALE): expected $(CONFIG) (use paper, quick or smoke)"; exit 2; }
	@$(BIN)/python -m impreg check-config $(CONFIG) > /dev/null

# The HTML report is made when the run made every figure's report (TARGET=all).
replicate: check-config
	@test "$(PROFILE)" != slurm || $(BIN)/python -c "import snakemake_executor_plugin_slurm" 2>/dev/null || { echo "PROFILE=slurm needs the SLURM executor plugin: $(BIN)/pip install -r envs/requirements-slurm.txt"; exit 2; }
	IMPREG_RERUN='$(RERUN)' $(BIN)/snakemake $(TARGET) $(SNAKEMAKE_OPTS)
	@test "$(TARGET)" != all || $(MAKE) --no-print-directory html-report OUT=$(RESULTS) FROM_SHIPPED=False

# The shipped outcome (docs/shipped_results.md): `figures` reads results/shipped/$(SCALE) and writes
# results/from_shipped/$(SCALE), training nothing; `ship` copies a finished workflow run's runs in
# (RUNS_COMMIT: the commit that made them, default HEAD; FIGURES: only these), makes the figures from
# them and copies those over the shipped outputs (runs copied into results/shipped by hand: give
# RUNS_COMMIT).
SHIPPED := results/shipped/$(SCALE)
FROM_SHIPPED_DIR := results/from_shipped/$(SCALE)
RUNS_COMMIT ?=
FIGURES ?=

figures: check-config
	IMPREG_RERUN='make figures SCALE=$(SCALE)' $(BIN)/snakemake all $(SNAKEMAKE_OPTS) --config from_shipped=True
	@$(MAKE) --no-print-directory html-report OUT=$(FROM_SHIPPED_DIR) FROM_SHIPPED=True

# the HTML report of the folder OUT (the Snakefile's `report:` opens it on the verdict)
html-report:
	@$(BIN)/snakemake all $(SNAKEMAKE_OPTS) --config from_shipped=$(FROM_SHIPPED) --report $(OUT)/report.html \
		> $(OUT)/logs/report_html.log 2>&1 || { echo "the HTML report failed: see $(OUT)/logs/report_html.log"; exit 1; }
	@echo "HTML report: $(OUT)/report.html"

report: check-config
	@test -f $(RESULTS)/REPLICATION.md || { echo "no replication at SCALE=$(SCALE) in $(RESULTS) yet: run make replicate SCALE=$(SCALE) first (make figures SCALE=$(SCALE) reports the shipped runs)"; exit 2; }
	@$(MAKE) --no-print-directory html-report OUT=$(RESULTS) FROM_SHIPPED=False

# Each scale's report names the verdicts shipped at the other scales, so those are made again too.
ship: venv
	$(BIN)/python -m impreg ship-runs --results $(RESULTS) --to $(SHIPPED) --scale $(SCALE) --config $(CONFIG) \
		$(if $(RUNS_COMMIT),--runs-commit $(RUNS_COMMIT)) $(if $(FIGURES),--figures $(FIGURES))
	$(MAKE) ship-outputs SCALE=$(SCALE) PROFILE=$(PROFILE)
	@for other in $(filter-out $(SCALE),$(notdir $(wildcard results/shipped/*))); do \
		test ! -f results/shipped/$$other/ORIGIN.json || $(MAKE) ship-outputs SCALE=$$other PROFILE=$(PROFILE) RUNS_COMMIT= || exit 1; \
	done

# the outputs made from a scale's shipped runs, copied over its shipped outputs (a step of ship)
ship-outputs: venv
	$(MAKE) figures SCALE=$(SCALE) PROFILE=$(PROFILE)
	$(BIN)/python -m impreg ship-outputs --made $(FROM_SHIPPED_DIR) --to $(SHIPPED) --scale $(SCALE) --config $(CONFIG) \
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

# The fast lint (CI and the pre-commit hooks run it): every Python file checked and formatted by
# ruff (pyproject.toml says what the formatter leaves alone), notebooks stored stripped.
lint: venv
	$(BIN)/ruff check src tests benchmarks notebooks workflow docs/notes
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --verify notebooks/*.ipynb

# Snakemake's own advice on the rule files. It reports one lint by design: workflow/rules/jobs.smk
# writes each made rule inside a function (so that its command sees its own spec, not a loop's last),
# which Snakemake calls mixing rules and functions.
lint-snakemake: venv
	$(BIN)/snakemake --lint --configfile config/smoke.yaml

benchmark: venv
	$(BIN)/python benchmarks/tf_dynamics_step.py --threads 1
	$(BIN)/python benchmarks/tf_dynamics_step.py --threads 1 --dtype float64 --full-runs

# What a run wrote, per scale; never results/shipped (tracked in git). Without SCALE it only lists.
CLEAN_SCALE := $(if $(filter command line environment,$(origin SCALE)),$(SCALE))
CLEAN := $(wildcard $(if $(filter all,$(CLEAN_SCALE)),$(filter-out results/shipped,$(wildcard results/*)) .snakemake,\
	results/$(CLEAN_SCALE) results/from_shipped/$(CLEAN_SCALE)))

clean:
ifeq ($(CLEAN_SCALE),)
	@echo "make clean deletes one scale's results: say which (results/shipped is never deleted):"
	@for d in $(filter-out results/shipped results/from_shipped,$(wildcard results/*)) $(wildcard results/from_shipped/*); do \
		echo "  $$(du -sh $$d | cut -f1)  $$d"; done
	@echo "  make clean SCALE=smoke | quick | paper    (SCALE=all: every one of them and .snakemake)"
else ifeq ($(CLEAN),)
	@echo "nothing to delete for SCALE=$(CLEAN_SCALE)"
else
	@echo "deleting (results/shipped is kept):"
	@du -sh $(CLEAN) | sed 's/^/  /'
	@rm -rf $(CLEAN)
endif
