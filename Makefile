# Two commands matter: `make synth` and `make test`. Each bootstraps what it needs on
# first use: a private pipenv in .tools/, then the locked environment in .venv/, with only
# the Pipfile categories that command needs (README, "Quick start"):
#   synth, cli-synth:        [packages] + [$(FRAMEWORK)]
#   test, local, rehearse, env: [packages] + [$(FRAMEWORK)] + [dev-packages] (+ [cdktf], the
#                            reference, when FRAMEWORK=cdktn)
#   bench:                   all of them (it measures both frameworks side by side)

PYTHON ?= python3
# cdktf (default) or cdktn (CDK Terrain); docs/cdk-terrain.md, "CDK Terrain". Exported: main.py reads it.
FRAMEWORK := $(or $(strip $(FRAMEWORK)),cdktf)
export FRAMEWORK
FRAMEWORKS := cdktf cdktn
ifeq ($(filter $(FRAMEWORK),$(FRAMEWORKS)),)
$(error FRAMEWORK: is not a supported framework (given '$(FRAMEWORK)'). Fix: use FRAMEWORK=cdktf (the default) or FRAMEWORK=cdktn)
endif
CLI_COMMAND := $(FRAMEWORK)

PIPENV_VERSION := 2026.10.3
# How often a long install says it is still working.
INSTALL_TICK_SECONDS ?= 20
TOOLS := .tools
PIPENV := $(TOOLS)/bin/pipenv

# Which interpreter .venv/ is built with. An explicit PYTHON (command line or environment)
# wins: if .venv/ was built with another one, it is rebuilt (and says so). Without one, an
# existing .venv/ keeps its interpreter; a fresh one uses python3.
ifneq ($(filter command line environment,$(origin PYTHON)),)
VENV_PYTHON := $(PYTHON)
else
VENV_PYTHON := $(if $(wildcard .venv/bin/python),.venv/bin/python,$(PYTHON))
endif
PY_ID_CODE := import os,sys; print(sys.version.split()[0] + ' ' + os.path.realpath(sys.executable))
PY_ID := $(shell $(VENV_PYTHON) -c "$(PY_ID_CODE)" 2>/dev/null)
# Stamps name the lock and the interpreter, so a new Pipfile.lock or another PYTHON re-syncs.
STAMP_ID := $(shell $(PYTHON) -c "import hashlib,sys; print(hashlib.sha256(open('Pipfile.lock','rb').read() + sys.argv[1].encode()).hexdigest()[:12])" "$(PY_ID)" 2>/dev/null || echo none)
stamp = .venv/.synced-$(1)-$(STAMP_ID)
SYNTH_ENV := $(call stamp,packages) $(call stamp,$(FRAMEWORK))
# Tests under cdktn also synthesize with cdktf, the reference the JSON is compared against.
TEST_ENV := $(sort $(SYNTH_ENV) $(call stamp,cdktf) $(call stamp,dev-packages))

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export PIPENV_VERBOSITY := -1
# jsii warns loudly about Node versions it no longer (or not yet) supports.
# See docs/setup.md, "Node.js banner"; these only silence the banner, nothing else.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# The cdktf/cdktn CLI phones home for version checks; the build machines have no route there.
export CHECKPOINT_DISABLE := 1

.PHONY: help synth test local bench ops ops-env cli cli-synth check-python clean clean-all env synth-env rehearse
.PHONY: test-fast synth-compare lint

help:
	@echo "make synth      synthesize every stack into cdktf.out/stacks/<stack>/cdk.tf.json"
	@echo "make test       run the whole test suite (unit, synth, checkov, end-to-end on moto)"
	@echo "make lint       static checks: ruff check, ruff format --check, mypy (pyproject.toml; CI runs it first)"
	@echo "make test-fast  the fast tier: unit, config and synth-assertion tests (no e2e, checkov, rehearsal or other slow test)"
	@echo "make local      run the pipeline on this machine (moto server + local API + poller)"
	@echo "make bench      run the benchmarks in bench/ (not part of the tests)"
	@echo "make rehearse   deploy rehearsal: synth, terraform init/validate, apply to moto, use it, re-plan, destroy (ENV=staging, ARGS=--help)"
	@echo "make cli-synth  synthesize through the framework's npm CLI (installs it in node_modules/)"
	@echo "make ops ARGS=  run ordersctl in the project's environment, e.g. make ops ARGS=\"preflight\" (bin/ordersctl keeps its exit codes)"
	@echo "make clean      remove the build output (cdktf.out/, .build/, test caches)"
	@echo "make clean-all  also remove .venv/, .tools/, the npm CLIs and jsii's cached copies of this project's packages (about 1-2 GB)"
	@echo "FRAMEWORK=cdktn on any of them uses CDK Terrain instead of CDKTF (README, \"CDK Terrain\")"

check-python:
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" || \
	  { echo "error: Python 3.11+ is required; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Fix: run 'make PYTHON=python3.11 ...'." >&2; exit 1; }

$(PIPENV): | check-python
	@echo ">> installing pipenv $(PIPENV_VERSION) into $(TOOLS)/ (first run only)"
	@$(PYTHON) -m venv $(TOOLS) || { rm -rf $(TOOLS); echo "error: '$(PYTHON) -m venv' failed. Fix: sudo apt-get install python3-venv (Debian/Ubuntu), then retry." >&2; exit 1; }
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"

# One stamp per Pipfile category (packages, cdktf, cdktn, dev-packages). A framework's
# category installs without byte-compiling (PIP_COMPILE=false): its provider bindings hold
# ~2,200 modules (~250 MB of .pyc, minutes of CPU) of which a lean synth imports ~80, and
# Python compiles those on first import. Measured: bench/README.md, "First run".
CATEGORY_WHAT_packages := runtime (boto3, tqdm, jsii, constructs)
CATEGORY_WHAT_cdktf := the CDKTF framework and its AWS provider bindings
CATEGORY_WHAT_cdktn := the CDK Terrain framework and its AWS provider bindings
CATEGORY_WHAT_dev-packages := test and dev tools (pytest, moto, checkov, Powertools, ...; ~1 GB, \`make test\` only)
.venv/.synced-%-$(STAMP_ID): Pipfile.lock | $(PIPENV)
	@$(VENV_PYTHON) -c "$(PY_ID_CODE)" >/dev/null 2>&1 || \
	  { echo "error: PYTHON: '$(VENV_PYTHON)' does not run. Fix: give an installed interpreter, e.g. 'make PYTHON=python3.11 ...'." >&2; exit 1; }
	@built="$$( [ -x .venv/bin/python ] && .venv/bin/python -c "$(PY_ID_CODE)" 2>/dev/null )"; \
	if [ -n "$$built" ] && [ "$$built" != "$(PY_ID)" ]; then \
	  echo ">> .venv/ was built with Python $$built; PYTHON=$(PYTHON) is Python $(PY_ID): rebuilding .venv/ with it"; \
	  rm -rf .venv; \
	fi; \
	if [ ! -x .venv/bin/python ]; then \
	  $(PIPENV) --python "$$($(VENV_PYTHON) -c 'import sys; print(sys.executable)')" >/dev/null || exit 1; \
	fi
	@echo ">> installing Pipfile category [$*] into .venv/: $(CATEGORY_WHAT_$*)"
	@# pipenv prints nothing while it downloads and installs (minutes for [dev-packages]): say so every $(INSTALL_TICK_SECONDS) s.
	@# Stopping the ticker stops its sleep too: a sleep left behind kept the pipe reading make's
	@# output open (`make local | ...` waited up to INSTALL_TICK_SECONDS after make had exited).
	@( trap 'kill $$nap 2>/dev/null; exit 0' TERM; started=$$(date +%s); \
	  while :; do sleep $(INSTALL_TICK_SECONDS) </dev/null >/dev/null 2>&1 & nap=$$!; wait $$nap || exit 0; \
	    echo ">>   still installing [$*]: $$(( $$(date +%s) - started )) s so far"; done ) & ticker=$$!; \
	$(if $(filter $*,$(FRAMEWORKS)),PIP_COMPILE=false )$(PIPENV) sync --categories "$*"; status=$$?; \
	kill $$ticker 2>/dev/null; wait $$ticker 2>/dev/null; exit $$status
	@rm -f .venv/.synced-$*-*
	@touch $@

synth-env: $(SYNTH_ENV)
env: $(TEST_ENV)

synth: $(SYNTH_ENV)
	@$(PIPENV) run python main.py

test: $(TEST_ENV)
	@$(PIPENV) run python -m pytest $(PYTEST_ARGS)

# The tier to run on every change; `make test` (what CI runs) runs everything. Markers: pytest.ini.
FAST_TIER := not slow and not e2e and not rehearsal
test-fast: $(TEST_ENV)
	@$(PIPENV) run python -m pytest -m "$(FAST_TIER)" $(PYTEST_ARGS)

# Static checks, configured in pyproject.toml (docs/ci.md, "Static checks"): all three run, and
# the target fails if any of them does. mypy reads the framework's and boto3's types, hence TEST_ENV.
lint: $(TEST_ENV)
	@status=0; \
	echo ">> ruff check"; $(PIPENV) run ruff check . || status=1; \
	echo ">> ruff format --check"; $(PIPENV) run ruff format --check . || status=1; \
	echo ">> mypy"; $(PIPENV) run mypy . || status=1; \
	exit $$status

# Prove a refactoring changes no byte of the synthesized JSON: BASE=<git revision> (default main).
synth-compare: $(SYNTH_ENV)
	@$(PIPENV) run python -m tools.synth_compare $(if $(BASE),--base "$(BASE)") $(ARGS)

local: $(TEST_ENV)
	@$(PIPENV) run python -m local_pipeline $(ARGS)

# ENV picks the environment (dev by default); ARGS go to `python -m rehearsal` (see --help).
rehearse: $(TEST_ENV)
	@$(PIPENV) run python -m rehearsal $(if $(ENV),--env "$(ENV)") $(ARGS)

# ordersctl needs boto3 and tqdm (the runtime category), not a framework: run it in the project's environment.
# make turns any failure into its own exit 2; bin/ordersctl keeps ordersctl's exit codes (docs/operations.md, "ordersctl").
ops: $(call stamp,packages)
	@$(PIPENV) run python -m ordersctl $(ARGS)

# What bin/ordersctl needs before it runs: the runtime packages in .venv/.
ops-env: $(call stamp,packages)

bench: $(TEST_ENV) $(call stamp,cdktf) $(call stamp,cdktn)
	@$(PIPENV) run python -m bench $(ARGS)

# The npm CLIs: one workspace per framework under cli/, one package-lock.json for both;
# only the selected framework's CLI is installed (docs/cdk-terrain.md, "CDK Terrain"). npm decides where
# a workspace's bin lands (node_modules/.bin or cli/<framework>/node_modules/.bin), so the
# recipes look in both.
CLI_STAMP := node_modules/.installed-cli-$(FRAMEWORK)
find_bin = $$(for d in cli/$(FRAMEWORK)/node_modules/.bin node_modules/.bin; do [ -x $$d/$(1) ] && { echo $$d/$(1); break; }; done)
CLI_BIN = $(call find_bin,$(CLI_COMMAND))
# cdktn-cli 0.24 needs Node.js >= 22.19; its workspace pins a Node 22 binary (Linux) that runs
# the CLI only. The CLI starts `python main.py`, whose jsii kernel uses the node on PATH as always.
CLI_NODE_cdktn = $(call find_bin,node)

$(CLI_STAMP): package.json package-lock.json cli/$(FRAMEWORK)/package.json
	@echo ">> installing the $(FRAMEWORK) CLI from package-lock.json (npm workspace cli/$(FRAMEWORK))"
	@if [ -d node_modules ]; then npm install --no-save --no-audit --no-fund --workspace cli/$(FRAMEWORK); \
	else npm ci --no-audit --no-fund --workspace cli/$(FRAMEWORK); fi
	@[ -n "$(CLI_BIN)" ] || { echo "error: npm installed no '$(CLI_COMMAND)' command. Fix: check cli/$(FRAMEWORK)/package.json and package-lock.json" >&2; exit 1; }
	@touch $@

cli: $(CLI_STAMP)

cli-synth: $(SYNTH_ENV) $(CLI_STAMP)
	@bin="$(CLI_BIN)"; [ -n "$$bin" ] || { echo "error: FRAMEWORK=$(FRAMEWORK): no '$(CLI_COMMAND)' command in node_modules. Fix: rm -f $(CLI_STAMP) && make cli FRAMEWORK=$(FRAMEWORK)" >&2; exit 1; }; \
	node="$(CLI_NODE_$(FRAMEWORK))"; if [ "$(FRAMEWORK)" = cdktn ] && [ -z "$$node" ] && \
	  ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)'; then \
	  echo "error: cdktn-cli 0.24 needs Node.js >= 22.19 (given $$(node --version)); its pinned Node 22 binary exists for Linux only. Fix: put Node 22.19+ on PATH" >&2; exit 1; fi; \
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $$node $$bin synth

# Build output only: the synthesized stacks, the staged Lambda package, test caches.
clean:
	rm -rf cdktf.out .build .pytest_cache .hypothesis .mypy_cache .ruff_cache

# Everything the project installed, too (docs/setup.md, "Cleaning up"): .venv/ (~0.3 GB per framework,
# ~1 GB with the test tools), .tools/, the npm CLIs, and jsii's extracted copies of this project's
# packages in its runtime cache (~0.4-0.9 GB; jsii extracts them again on the next run).
JSII_PACKAGE_CACHE = $${JSII_RUNTIME_PACKAGE_CACHE_ROOT:-$${XDG_CACHE_HOME:-$$HOME/.cache}/aws/jsii/package-cache}
clean-all: clean
	@cache="$(JSII_PACKAGE_CACHE)"; \
	set -- .venv .tools node_modules cli/cdktf/node_modules cli/cdktn/node_modules \
	  "$$cache/cdktf" "$$cache/@cdktf" "$$cache/cdktn" "$$cache/@cdktn" "$$cache/constructs"; \
	freed=$$(du -sck "$$@" 2>/dev/null | tail -1 | cut -f1); \
	rm -rf "$$@"; \
	echo ">> removed .venv/, .tools/, the npm CLIs and this project's packages in jsii's cache ($$cache): $$((freed / 1024)) MiB freed; the next make command reinstalls what it needs"
