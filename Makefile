PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installs the package and runs the main job on the bundled Tang-poem corpus.
demo: $(BIN)/python
	$(BIN)/pip install -q -e '.[plot]'
	$(BIN)/python -m bertkit demo

test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/python -m pytest -q

lint: $(BIN)/python
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples

# Every benchmark at its default sizes, ours and the reference in one process each, each appending its figures
# to benchmarks/results.jsonl; then docs/benchmarks.md's table is generated from them. About an hour on 2
# cores before time_to_accuracy.py, which trains the demo's models for three seeds (hours on AVX2 cores).
# Debian's `fortunes` packages, where installed, make the text benchmarks' corpus larger; finetune.py needs them.
bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python benchmarks/tokenizer.py
	$(BIN)/python benchmarks/tokenizer_train.py
	$(BIN)/python benchmarks/prepare.py
	$(BIN)/python benchmarks/loader.py --threads 1
	$(BIN)/python benchmarks/model.py all
	$(BIN)/python benchmarks/pretrain.py
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/checkpoint.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/embed.py
	$(BIN)/python benchmarks/pipelines.py
	$(BIN)/python benchmarks/score.py
	$(BIN)/python benchmarks/pll_flops.py
	$(BIN)/python benchmarks/precision.py quality
	$(BIN)/python benchmarks/precision.py speed
	$(BIN)/python benchmarks/precision.py generate
	$(BIN)/python benchmarks/export_onnx.py
	$(BIN)/python benchmarks/finetune.py
	$(BIN)/python benchmarks/onnx_loaders.py  # skips without optimum: its docstring says where it runs
	$(BIN)/python benchmarks/report.py
	$(BIN)/python benchmarks/time_to_accuracy.py
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info runs/demo
