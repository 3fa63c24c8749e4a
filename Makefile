# The two commands of the README: `make demo` and `make test`. Both set up .venv when it is missing
# or when a requirements file changed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 8

.PHONY: demo test venv lint clean report-screenshot

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(VENV)/.installed
	$(BIN)/python -m pytest tests

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip check || true
	touch $@

# Check the report in headless Chromium (every figure loads, no error) and save a screenshot.
report-screenshot: $(VENV)/.installed
	PYTHONPATH=src $(BIN)/python -m apexbench.browser results/report/index.html --screenshot results/report/screenshot.png

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results logs .snakemake benchmarks/out
