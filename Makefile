# Two commands on a fresh machine: `make report` builds the report, `make test` runs the tests.
# Each creates the virtual environment from pyproject.toml first (only when it is missing or
# pyproject.toml changed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test lint lab benchmark clean notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lab]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/trialrecon report

# Notebooks: nbval runs every cell and compares only the key-figure cells, those marked
# `# NBVAL_CHECK_OUTPUT` (--nbval-lax); tests/test_notebooks.py checks that each .ipynb is in
# sync with its source notebooks/<name>.py.
test: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks tools notebooks/*.py
	$(BIN)/pytest --nbval-lax tests notebooks

lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks tools notebooks/*.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# The notebooks' sources are notebooks/<name>.py (jupytext percent format, paired with the
# .ipynb; edit either, in JupyterLab both are saved). This syncs each .ipynb with its source,
# executes it and keeps only the key-figure outputs; run it after every edit.
notebooks: $(STAMP)
	$(BIN)/python tools/make_notebooks.py

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_reconstruct.py
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_summary_corpus.py
	$(BIN)/python benchmarks/prior_check.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_limits.py
	$(BIN)/python benchmarks/bench_curve_corpus.py
	$(BIN)/python benchmarks/bench_extrapolation.py
	$(BIN)/python benchmarks/bench_extrapolation_corpus.py --summary benchmarks/results/extrapolation_corpus.csv
	$(BIN)/python benchmarks/bench_extrapolation_rebuilt.py

clean:
	rm -rf $(VENV) reports/*.html reports/executed
