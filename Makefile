# Trellis: the two commands of the README are `make train` and `make test`.
SHELL := /bin/bash
CORPUS ?= Corpora/synthetic
MODEL ?= models/$(notdir $(CORPUS)).model
SEED ?= 1
TRAIN_FLAGS ?=
SWIFT_BUILD_FLAGS ?=
BIN = .build/release/trellis

.PHONY: deps build train test eval bench plots corpus-check clean

deps:
	@bash scripts/install-deps.sh

build: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)

# Trains the default BiLSTM-CRF on $(CORPUS)/{train,dev}.conll and scores it on test.conll.
train: build
	@mkdir -p $(dir $(MODEL))
	$(BIN) train --train $(CORPUS)/train.conll --dev $(CORPUS)/dev.conll --model $(MODEL) --seed $(SEED) $(TRAIN_FLAGS)
	$(BIN) eval --model $(MODEL) --test $(CORPUS)/test.conll

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build
	python3 Corpora/generate.py --check

clean:
	rm -rf .build models
