# make test   - everything CI runs: lint, unit, integration, local black-box, build checks
# make demo   - the main job end to end on the embedded local stack
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_313 := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.13.0/bin")
PYTHON_BOOT := $(shell if [ -x "$(PYENV_313)/python3.13" ]; then echo "$(PYENV_313)/python3.13"; else echo python3; fi)
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
# --no-compile: the tests compile what they import, on first import. Compiling every installed module up front
# (moto, botocore, aws-sam-cli) was 18 s of the 34 s the .venv's install took from a fresh clone.
PIP_QUIET := --quiet --disable-pip-version-check --no-compile
# Both cores: pytest-xdist hands the tests out one by one, the slow ones first (tests/conftest.py).
# --dist load, not loadgroup or loadscope: the contract fuzz's 33 cases share one node id, and those modes run one.
PYTEST := $(PY) -m pytest -n 2 --dist load
# sam build for python3.13 needs python3.13 on PATH.
SAM_PATH := $(if $(PYENV_313),$(PYENV_313):,)$(PATH)

.PHONY: help venv tools system-deps test lint unit integration local build-check demo bench clean openapi

help:
	@echo "make test   lint + unit + integration + local + build checks"
	@echo "make demo   run the month end to end on the local stack"
	@echo "make bench  run benchmarks/ and print the figures"
	@echo "make openapi  regenerate docs/openapi.json from the code"

$(VENV)/.installed: requirements/dev.txt layers/domain/requirements.txt layers/pdf/requirements.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements/dev.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

$(TOOLS)/.installed: requirements/tools.txt
	test -x $(TOOLS)/bin/python || python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install $(PIP_QUIET) -r requirements/tools.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

venv: $(VENV)/.installed
tools: $(TOOLS)/.installed

# Debian packages the tests use: pdftoppm renders invoice PDFs to PNG for review,
# Chromium and its driver run the statements page in a real browser, and a
# Japanese font lets that browser draw the page (the PDFs embed their own).
SYSTEM_PACKAGES := poppler-utils chromium chromium-driver fonts-ipaexfont-gothic
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: venv
	$(PYTEST) tests/unit

integration: venv
	$(PYTEST) tests/integration

local: venv
	$(PYTEST) tests/local tests/local_stack

build-check: tools
	$(TOOLS)/bin/cfn-lint template.yaml
	$(TOOLS)/bin/python -m tools.least_privilege
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --region ap-northeast-1
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam build --region ap-northeast-1

# The two virtual environments are installed side by side, and the build checks (cfn-lint, the IAM rules, sam
# validate and build: mostly waiting on disk) run beside the tests, their output printed once the tests end.
test: system-deps
	$(MAKE) --no-print-directory -j2 venv tools
	$(MAKE) --no-print-directory lint
	@mkdir -p .local
	@$(MAKE) --no-print-directory build-check > .local/build-check.log 2>&1 & checks=$$!; \
	$(PYTEST) tests; tests=$$?; \
	wait $$checks; built=$$?; \
	echo "--- make build-check (ran beside the tests): exit $$built"; cat .local/build-check.log; \
	exit $$(( tests != 0 || built != 0 ))

openapi: venv
	$(PY) -m tools.openapi

demo: venv
	$(PY) -m local demo

bench: venv
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .local out artifacts
