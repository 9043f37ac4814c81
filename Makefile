# Set-up is idempotent: .venv is created once, with the CPU torch wheel installed first
# so that no dependency range pulls CUDA packages.
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup test demo bench lint clean

setup: .venv/.installed

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: setup
	$(PY) -m pytest -q

demo: setup
	$(PY) -m esci.demo

bench: setup
	$(PY) -m bench.run_all

lint: setup
	$(PY) -m ruff check simtune esci faq tests bench

clean:
	rm -rf servable/* .pytest_cache
