# Trellis: the two commands of the README are `make train` and `make test`.
SHELL := /bin/bash
CORPUS ?= Corpora/synthetic
MODEL ?= models/$(notdir $(CORPUS)).model
SEED ?= 1
TRAIN_FLAGS ?=
SWIFT_BUILD_FLAGS ?=
BIN = .build/release/trellis
# Release builds and runs are tuned to this CPU (scripts/cpu-tuning.sh says why); `make test`
# and CI are not: they keep the environment's OpenBLAS settings and a portable build.
BLAS_CORETYPE := $(shell bash scripts/cpu-tuning.sh blas)
TARGET_CPU := $(shell bash scripts/cpu-tuning.sh swift)
RUN = $(if $(BLAS_CORETYPE),OPENBLAS_CORETYPE=$(BLAS_CORETYPE)) $(BIN)

.PHONY: deps build train test eval bench plots clean

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build -c release --product trellis $(if $(TARGET_CPU),-Xswiftc -target-cpu -Xswiftc $(TARGET_CPU)) $(SWIFT_BUILD_FLAGS)

# Trains the default BiLSTM-CRF on $(CORPUS)/{train,dev}.conll and scores it on test.conll.
train: build
	@mkdir -p $(dir $(MODEL))
	$(RUN) train --train $(CORPUS)/train.conll --dev $(CORPUS)/dev.conll --model $(MODEL) --seed $(SEED) $(TRAIN_FLAGS)
	$(RUN) eval --model $(MODEL) --test $(CORPUS)/test.conll

# Throughput figures (README "Speed"): with this CPU's tuned BLAS kernels, then with the
# environment's own choice when that differs.
# The benchmark corpus: ATIS when it is beside the checkout, else the shipped corpus.
ATIS = ../shared/corpora/atis
BENCH_CORPUS = $(if $(wildcard $(ATIS)/train.conll),$(ATIS),Corpora/synthetic)
bench: build
	$(RUN) bench --corpus $(BENCH_CORPUS) --json bench.json
	@if [ -n "$(BLAS_CORETYPE)" ] && [ -z "$$OPENBLAS_CORETYPE" ]; then \
	  echo; echo "--- the same with OpenBLAS's own kernel choice (OPENBLAS_CORETYPE unset):"; \
	  $(BIN) bench --corpus $(BENCH_CORPUS) --repetitions 1; fi

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build --disable-swift-testing
	@if [ -n "$(BLAS_CORETYPE)" ] && [ "$(BLAS_CORETYPE)" != "$$OPENBLAS_CORETYPE" ]; then \
	  echo "gemm against the naive product with the kernels make train uses ($(BLAS_CORETYPE)):"; \
	  OPENBLAS_CORETYPE=$(BLAS_CORETYPE) swift test --skip-build --disable-swift-testing --filter GemmTests; fi
	python3 Corpora/generate.py --check
	python3 -m unittest discover -s Eval/tests -t Eval

clean:
	rm -rf .build models

# --- Evaluation: Eval/run.py trains every system of Eval/systems/*.json with seeds 1..$(SEEDS)
# on $(CORPUS) (default for eval: ATIS), scores it and writes Eval/RESULTS.md and Eval/plots/.
# `make eval QUICK=1` is the smoke run (synthetic corpus, 1 seed, 2 epochs, sizes 32).
# `make plots` rebuilds every report and PNG from the kept logs and results, without training.
SEEDS ?= 3
QUICK ?= 0
ifeq ($(origin CORPUS),file)
EVAL_CORPUS = $(if $(filter 1,$(QUICK)),Corpora/synthetic,$(ATIS))
else
EVAL_CORPUS = $(CORPUS)
endif
EVAL_VENV = Eval/.venv
EVAL_PYTHON = $(EVAL_VENV)/bin/python

$(EVAL_VENV)/.matplotlib:
	python3 -m venv $(EVAL_VENV)
	$(EVAL_VENV)/bin/pip install --quiet matplotlib
	@touch $@

# Training needs only python3; without the venv (no network for pip) the plots are skipped.
eval:
	$(MAKE) --no-print-directory build
	-@$(MAKE) --no-print-directory $(EVAL_VENV)/.matplotlib
	$(if $(BLAS_CORETYPE),OPENBLAS_CORETYPE=$(BLAS_CORETYPE)) \
	  $$([ -x $(EVAL_PYTHON) ] && echo $(EVAL_PYTHON) || echo python3) Eval/run.py --corpus $(EVAL_CORPUS) --seeds $(SEEDS) $(if $(filter 1,$(QUICK)),--quick) \
	  --command "make eval $(if $(filter 1,$(QUICK)),QUICK=1 CORPUS=$(EVAL_CORPUS),CORPUS=$(EVAL_CORPUS) SEEDS=$(SEEDS))"

plots: $(EVAL_VENV)/.matplotlib
	$(EVAL_PYTHON) Eval/run.py --report-only

# --- HTTP service (README "HTTP service"): `make serve` builds trellis-serve in release, a
# product of its own so that `make build`/`make train` never wait for Hummingbird; then
#   .build/release/trellis-serve --model $(MODEL) [--host 127.0.0.1] [--port 8080]
# `make load-test` sends $(LOAD_REQUESTS) requests from 32 connections on 127.0.0.1 to that
# release build (ServeTests.LoadTests, answers checked against `trellis tag`) and prints
# requests/s, tokens/s and latency; `make test` runs the same test with 2,000 requests against
# the debug build. LOAD_MODEL=path serves that model instead of the test's small one.
LOAD_REQUESTS ?= 10000
LOAD_MODEL ?=
.PHONY: serve load-test
serve: deps
	swift build -c release --product trellis-serve $(if $(TARGET_CPU),-Xswiftc -target-cpu -Xswiftc $(TARGET_CPU)) $(SWIFT_BUILD_FLAGS)

load-test: serve
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	$(if $(BLAS_CORETYPE),OPENBLAS_CORETYPE=$(BLAS_CORETYPE)) TRELLIS_SERVE_EXECUTABLE=.build/release/trellis-serve \
	  TRELLIS_LOAD_REQUESTS=$(LOAD_REQUESTS) $(if $(LOAD_MODEL),TRELLIS_SERVE_MODEL=$(LOAD_MODEL)) \
	  swift test --skip-build --disable-swift-testing --filter ServeTests.LoadTests
