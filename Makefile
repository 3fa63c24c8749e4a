# The two commands of the README: `make demo` and `make test`. Both set up .venv when it is missing
# or when a requirements file changed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 8

.PHONY: demo test venv venv-train lint clean report-screenshot

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(VENV)/.installed
	$(BIN)/python -m pytest tests

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt requirements-convert.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	$(BIN)/python -m pip check || true
	touch $@

# The optional training extra (torch, CPU build) for `snakemake cnn` and classifiers of kind cnn.
venv-train: $(VENV)/.installed
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-train.txt \
		--extra-index-url https://download.pytorch.org/whl/cpu

# Check the report in headless Chromium (every figure loads, no error) and save a screenshot.
report-screenshot: $(VENV)/.installed
	PYTHONPATH=src $(BIN)/python -m apexbench.browser results/report/index.html --screenshot results/report/screenshot.png

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results logs .snakemake benchmarks/out
