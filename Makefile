# The two newcomer commands: `make train` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: install train test test-fast test-gpu validate clean

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: pip takes the CPU wheel; a looser range would pull a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## SFT on the tiny embedded backbone and the synthetic data (ARGS="key=value ..." to override)
train: $(STAMP)
	$(PY) -m reade.train $(ARGS)

## Every test that runs on a CPU machine (gpu- and vllm-marked tests are left out)
test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not gpu and not vllm" $(ARGS)

test-gpu: $(STAMP)
	$(PY) -m pytest -q -m gpu $(ARGS)

clean:
	rm -rf logs outputs multirun wandb .cache .pytest_cache
