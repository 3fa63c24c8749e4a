# The two commands of the README, each with its own environment, (re)built when a file it is made
# from changes:
#   make demo   .venv       the runtime set: requirements.txt, requirements-nodeps.txt (--no-deps), the
#                           package (editable); `make venv` builds it alone, `make venv-train` adds the
#                           training/conversion extra (torch, onnx) to it
#   make test   .venv-test  the runtime set plus requirements-dev.txt: pytest, snakefmt and the
#                           conversion extra (so the tests convert and train for real); `make lint` too
# Python 3.11 or 3.12: the first of python3, python3.12, python3.11 that runs and is one of them (a
# pyenv shim can exist and fail, so each is run, not just looked up); `PYTHON=/path/to/python make ...`
# chooses. An existing environment keeps its Python: `rm -rf .venv .venv-test` to switch.
PY_OK := import sys; ok = sys.version_info[:2] in ((3, 11), (3, 12))
PYTHON ?= $(firstword $(foreach py,python3 python3.12 python3.11,$(shell $(py) -c '$(PY_OK); ok and print(sys.executable)' 2>/dev/null)))
VENV := .venv
BIN := $(VENV)/bin
TEST_VENV := .venv-test
CORES ?= 8
# torch's CPU build; used when reachable (else pip takes torch from the indexes it knows). TORCH_INDEX= skips it.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# --no-compile: pip would write bytecode for every module it installs (about 180 MB). In .venv Python
# writes it on first import instead: the demo's first run writes 55 MB, for the modules a run
# imports, and takes about 5 s longer than the runs after it. .venv-test compiles everything but the
# test suites that numpy, scipy, pandas, scikit-learn and matplotlib ship, since every test
# starts new Snakemake and job processes (see compile_venv).
PIP_INSTALL := -m pip install --disable-pip-version-check -q --no-compile

.PHONY: demo test venv venv-train lint clean report-screenshot

demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/python -m pytest tests

venv: $(VENV)/.installed

# $(call new_venv,DIR): DIR made with $(PYTHON) unless it exists.
define new_venv
	@"$(PYTHON)" -c '$(PY_OK); sys.exit(not ok)' 2>/dev/null || { echo "make: need Python 3.11 or 3.12 (tried: $(or $(PYTHON),python3 python3.12 python3.11)); set PYTHON=/path/to/python3.12" >&2; exit 1; }
	test -x $(1)/bin/python || "$(PYTHON)" -m venv $(1)
	@$(1)/bin/python -c 'import sys; print("$(1): Python", sys.version.split()[0])'
endef

# $(call torch_extra,DIR,REQUIREMENTS): install a file holding torch, from the CPU index when reachable.
define torch_extra
	@if [ -n "$(TORCH_INDEX)" ] && $(1)/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$(TORCH_INDEX)/torch/" 2>/dev/null; then \
		echo "$(1)/bin/python $(PIP_INSTALL) --extra-index-url $(TORCH_INDEX) -r $(2)"; \
		$(1)/bin/python $(PIP_INSTALL) --extra-index-url "$(TORCH_INDEX)" -r $(2); \
	else \
		echo "make: $(or $(TORCH_INDEX),TORCH_INDEX) not used (unreachable or empty): torch from the indexes pip knows; from PyPI alone, Linux x86_64 gets the CUDA build (several GB)"; \
		echo "$(1)/bin/python $(PIP_INSTALL) -r $(2)"; \
		$(1)/bin/python $(PIP_INSTALL) -r $(2); \
	fi
endef

# $(call check_venv,DIR): pip check (fails on any problem but the --no-deps cases that
# requirements-nodeps.txt declares).
define check_venv
	$(1)/bin/python -m apexbench.pipcheck requirements-nodeps.txt
endef

# $(call compile_venv,DIR): bytecode for what pip installed but the packages' own test suites. A file
# only a newer Python parses (torch ships some) does not compile; pip's own compile step ignores
# that, and so does this one.
define compile_venv
	$(1)/bin/python -m compileall -qq -j 0 -x 'site-packages/(.+/)?tests?/' "$$($(1)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
endef

# $(call finish_venv,DIR[,compile]): the --no-deps set, the package, bytecode if asked, pip check, the stamp.
define finish_venv
	$(1)/bin/python $(PIP_INSTALL) --no-deps -r requirements-nodeps.txt
	$(1)/bin/python $(PIP_INSTALL) --no-deps -e .
	$(if $(2),$(call compile_venv,$(1)))
	$(call check_venv,$(1))
	touch $(1)/.installed
endef

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	$(call new_venv,$(VENV))
	$(BIN)/python $(PIP_INSTALL) -r requirements.txt
	$(call finish_venv,$(VENV))

$(TEST_VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt requirements-convert.txt pyproject.toml
	$(call new_venv,$(TEST_VENV))
	$(call torch_extra,$(TEST_VENV),requirements-convert.txt)
	$(TEST_VENV)/bin/python $(PIP_INSTALL) -r requirements-dev.txt
	$(call finish_venv,$(TEST_VENV),compile)

# The optional training/conversion extra (torch, onnx) in .venv, for `snakemake cnn`, classifiers of
# kind cnn and the libreface conversion.
venv-train: $(VENV)/.train

$(VENV)/.train: $(VENV)/.installed requirements-train.txt requirements-convert.txt
	$(call torch_extra,$(VENV),requirements-train.txt)
	$(call check_venv,$(VENV))
	touch $@

# Check the report in headless Chromium (every figure loads, no error) and save a screenshot.
report-screenshot: $(VENV)/.installed
	$(BIN)/python -m apexbench.browser results/report/index.html --screenshot results/report/screenshot.png

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/snakemake --lint
	$(TEST_VENV)/bin/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results logs .snakemake benchmarks/out
