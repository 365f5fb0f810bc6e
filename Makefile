# Two commands for a fresh machine with Python and pip:
#   make run   - install what is missing, then serve the bot on its embedded defaults
#   make test  - install what is missing, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages the tests use: test audio (espeak-ng, sox), real SIP peers (sipp, baresip),
# a browser for UI tests. Installed only when missing, and only where apt-get can run.
DEB_PACKAGES := espeak-ng sox sip-tester baresip chromium chromium-driver

.PHONY: run test setup models system-deps speech-deps lint bench clean

run: setup speech-deps
	$(PY) -m voicebot serve

test: setup system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

setup: $(STAMP) models

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

models: $(STAMP)
	$(PY) -m voicebot models install

system-deps:
	@bash scripts/system-deps.sh $(DEB_PACKAGES)

# Polish (and any language without a piper voice) is spoken by espeak-ng: the espeakng-loader wheel brings
# the library; Debian's espeak-ng binary is the fallback, installed only if the wheel cannot load.
speech-deps: $(STAMP)
	@$(PY) -c "from voicebot.pipeline import espeak; espeak.shared()" 2>/dev/null \
		|| bash scripts/system-deps.sh --no-redis espeak-ng

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m bench.latency

clean:
	rm -rf $(VENV) models/whisper-* models/piper models/manifest.json var
