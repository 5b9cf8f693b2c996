# adsgen: `make demo` sets up .venv (when missing) and runs the main job on the embedded defaults;
# `make test` sets up .venv (when missing) and runs the test suite (no GPU, no CARLA server needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -m "not carla and not gpu"

.PHONY: setup demo test lint clean

$(BIN)/adsgen: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[vlm,ray,carla,dev]"
	@touch $(BIN)/adsgen

setup: $(BIN)/adsgen

demo: setup
	$(BIN)/adsgen demo --out demo_out

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check adsgen carla_bridge tests
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) demo_out .pytest_cache
