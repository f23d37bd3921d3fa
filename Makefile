# Two commands on a fresh machine: `make report` builds the report, `make test` runs the tests.
# Each creates the virtual environment first, exactly as pinned (with hashes) in
# requirements.lock: only when it is missing or the lock or pyproject.toml changed, and then
# from scratch, so that nothing but the lock's versions is in it. `make lock` refreshes the
# lock from pyproject.toml's ranges; `make test-latest` runs the tests on the newest versions
# those ranges allow, in a throwaway environment, to see drift before it reaches the lock.
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
LOCK       := requirements.lock
UV_VERSION := 0.13.9
LINTED     := lib tests benchmarks tools notebooks/*.py

.PHONY: report test lint lab benchmark clean notebooks lock test-latest fuzz tesseract

$(STAMP): $(LOCK) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Resolve pyproject.toml's ranges (every extra and the build tools) to the newest versions,
# for every platform and Python from 3.10, with hashes. Commit the new lock with the run of
# `make test` that passed on it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv==$(UV_VERSION)
	.venv-lock/bin/uv pip compile pyproject.toml --extra test --extra lab --extra digitise \
	    --group pyproject.toml:build --universal --python-version 3.10 --generate-hashes \
	    --upgrade --custom-compile-command "make lock" --quiet -o $(LOCK)
	rm -rf .venv-lock

# Not part of CI: the same tests on whatever the newest allowed versions are today.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager \
	    -e '.[test,lab,digitise]'
	.venv-latest/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	.venv-latest/bin/python -m pip list --format=freeze | grep -iE \
	    '^(numpy|scipy|pandas|lifelines|matplotlib|jupyter.client|papermill)=='
	.venv-latest/bin/ruff check $(LINTED)
	.venv-latest/bin/pytest --nbval-lax tests notebooks
	rm -rf .venv-latest

# The OCR program pytesseract calls to read raster figures: Debian's tesseract-ocr, installed
# here when missing (as root, as on CI); elsewhere install it yourself (conda: tesseract).
tesseract:
	@command -v tesseract >/dev/null 2>&1 || { \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; \
	    else \
	        echo "make: raster figures need Tesseract: apt-get install tesseract-ocr" \
	            "(or conda install tesseract)" >&2; exit 1; \
	    fi; }

report: $(STAMP) tesseract
	$(BIN)/trialrecon report

# Notebooks: nbval runs every cell and compares only the key-figure cells, those marked
# `# NBVAL_CHECK_OUTPUT` (--nbval-lax); tests/test_notebooks.py checks that each .ipynb is in
# sync with its source notebooks/<name>.py.
test: $(STAMP) tesseract
	$(BIN)/ruff check $(LINTED)
	$(BIN)/pytest --nbval-lax tests notebooks

# Many more fuzz examples than the test run: every subcommand, the CSV readers and the trial
# files (2,000 examples per test; simulate, seconds per example, a fortieth of that).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=2000 $(BIN)/pytest -q tests/test_fuzz_cli.py tests/test_fuzz_csv.py \
	    tests/test_fuzz_yaml.py

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)

lab: $(STAMP) tesseract
	$(BIN)/jupyter lab notebooks

# The notebooks' sources are notebooks/<name>.py (jupytext percent format, paired with the
# .ipynb; edit either, in JupyterLab both are saved). This syncs each .ipynb with its source,
# executes it and keeps only the key-figure outputs; run it after every edit.
notebooks: $(STAMP)
	$(BIN)/python tools/make_notebooks.py

benchmark: $(STAMP) tesseract
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
	rm -rf $(VENV) .venv-latest .venv-lock reports/*.html reports/executed
