# Veil: `make demo` sets up and runs the main job; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
VEIL := target/release/veil
DEMO_OUT := out/demo

.PHONY: setup deps demo test test-rust test-kotlin check-swift lint bench bench-reference clean

## Installs system packages the build needs (nasm for libjpeg-turbo's SIMD) where missing.
deps:
	@scripts/install_deps.sh

## Fetches the default model and verifies its SHA-256.
setup: deps
	@scripts/fetch_model.sh

## Builds the release CLI and scans the bundled sample images, writing blurred previews.
demo: setup
	$(CARGO) build --release -p veil-cli
	@mkdir -p $(DEMO_OUT)
	@echo "== veil scan (blurred previews go to $(DEMO_OUT))"
	@$(VEIL) scan --blur-dir $(DEMO_OUT) tests/fixtures/benign tests/fixtures/positive; \
	  code=$$?; if [ $$code -gt 1 ]; then exit $$code; fi
	@echo "== veil model info"
	@$(VEIL) model info

## Every test: formatting, lints, Rust tests, Kotlin tests on the JVM, Swift checks.
test: setup lint test-rust test-kotlin check-swift

lint:
	$(CARGO) fmt --all -- --check
	scripts/check_no_network.sh
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

test-kotlin:
	tests/kotlin/run.sh

check-swift:
	scripts/check_swift.sh

## Criterion benchmarks (model load, inference, 12 MP JPEG end to end).
bench: setup
	$(CARGO) bench -p veil-core

## Times the reference Python pipeline and veil on the same images and prints the ratios.
bench-reference: setup
	$(CARGO) build --release -p veil-cli
	scripts/bench_vs_reference.sh

clean:
	$(CARGO) clean
	rm -rf out tests/kotlin/target
