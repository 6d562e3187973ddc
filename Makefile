# Two commands matter: `make synth` and `make test`. Each bootstraps what it needs
# on first use: a private pipenv in .tools/, then the locked environment in .venv/.

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
TOOLS := .tools
PIPENV := $(TOOLS)/bin/pipenv
VENV_STAMP := .venv/.synced-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha256(open('Pipfile.lock','rb').read()).hexdigest()[:12])" 2>/dev/null || echo none)

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export PIPENV_VERBOSITY := -1
# jsii warns loudly about Node versions it no longer (or not yet) supports.
# See README, "Node.js banner"; these only silence the banner, nothing else.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# The cdktf CLI phones home for version checks; the build machines have no route there.
export CHECKPOINT_DISABLE := 1

.PHONY: help synth test local bench ops cli cli-synth check-python clean env rehearse

help:
	@echo "make synth      synthesize every stack into cdktf.out/stacks/<stack>/cdk.tf.json"
	@echo "make test       run the whole test suite (unit, synth, checkov, end-to-end on moto)"
	@echo "make local      run the pipeline on this machine (moto server + local API + poller)"
	@echo "make bench      run the benchmarks in bench/ (not part of the tests)"
	@echo "make rehearse   deploy rehearsal: synth, terraform init/validate, apply to moto, use it, re-plan, destroy (ENV=staging, ARGS=--help)"
	@echo "make cli-synth  synthesize through the cdktf CLI from npm (installs it in node_modules/)"
	@echo "make ops ARGS=  run ordersctl in the project's environment, e.g. make ops ARGS=\"preflight\""

check-python:
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" || \
	  { echo "error: Python 3.11+ is required; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Fix: run 'make PYTHON=python3.11 ...'." >&2; exit 1; }

$(PIPENV): | check-python
	@echo ">> installing pipenv $(PIPENV_VERSION) into $(TOOLS)/ (first run only)"
	@$(PYTHON) -m venv $(TOOLS) || { rm -rf $(TOOLS); echo "error: '$(PYTHON) -m venv' failed. Fix: sudo apt-get install python3-venv (Debian/Ubuntu), then retry." >&2; exit 1; }
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"

$(VENV_STAMP): Pipfile.lock | $(PIPENV)
	@echo ">> installing the locked environment into .venv/ (pipenv sync --dev)"
	@rm -f .venv/.synced-*
	@$(PIPENV) --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" >/dev/null 2>&1 || true
	@$(PIPENV) sync --dev
	@touch $@

env: $(VENV_STAMP)

synth: $(VENV_STAMP)
	@$(PIPENV) run python main.py

test: $(VENV_STAMP)
	@$(PIPENV) run python -m pytest $(PYTEST_ARGS)

local: $(VENV_STAMP)
	@$(PIPENV) run python -m local_pipeline $(ARGS)

# ENV picks the environment (dev by default); ARGS go to `python -m rehearsal` (see --help).
rehearse: $(VENV_STAMP)
	@$(PIPENV) run python -m rehearsal $(if $(ENV),--env "$(ENV)") $(ARGS)

bench: $(VENV_STAMP)
	@$(PIPENV) run python -m bench $(ARGS)

# ordersctl needs boto3 and tqdm: run it in the project's environment, not the system Python.
ops: $(VENV_STAMP)
	@$(PIPENV) run python -m ordersctl $(ARGS)

node_modules/.bin/cdktf: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

cli: node_modules/.bin/cdktf

cli-synth: $(VENV_STAMP) node_modules/.bin/cdktf
	@PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" node_modules/.bin/cdktf synth

clean:
	rm -rf cdktf.out .build .pytest_cache
