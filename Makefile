# rolegate: `make demo` runs the demo, `make test` runs the whole suite.
# Both install missing system packages first (Debian/Ubuntu, as root or via sudo).

CARGO ?= cargo

# What building needs: samael's xmlsec build runs bindgen (libclang) and links
# xmlsec1/libxml2/libxslt/OpenSSL.
BUILD_PACKAGES := pkg-config libssl-dev libxml2-dev libxslt1-dev libxmlsec1-dev libclang-dev xmlsec1 ca-certificates
# What the tests need on top: a real Redis server, Python's jsonschema for the rule file
# schema check, Debian's headless Chromium and chromedriver for what only a browser enforces,
# Node.js for the real OpenID Provider (.ci/peer-deps installs the rest).
TEST_PACKAGES := redis-server python3 python3-pip python3-venv python3-jsonschema python3-yaml chromium chromium-driver

.PHONY: demo test lint fmt deps test-deps toolchain build bench fuzz

demo: deps
	$(CARGO) run --locked -- demo

test: deps test-deps
	$(CARGO) test --locked --all-targets

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench: deps
	$(CARGO) bench --locked --bench policy
	$(CARGO) bench --locked --bench mapping
	$(CARGO) bench --locked --bench sts_load
	$(CARGO) bench --locked --bench portal
	$(CARGO) bench --locked --bench saml

# Fuzz each target for FUZZ_SECONDS (default 600). cargo-fuzz needs nightly flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 enables them.
FUZZ_SECONDS ?= 600
fuzz: deps
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for target in policy_parse policy_evaluate; do \
	  mkdir -p corpus/$$target && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$target corpus/$$target ../tests/fixtures/policy/examples -- \
	    -max_total_time=$(FUZZ_SECONDS) -dict=policy.dict -max_len=4096 || exit 1; \
	done
	cd fuzz && mkdir -p corpus/saml_response && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O saml_response corpus/saml_response -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536

build: deps
	$(CARGO) build --locked --release

deps: toolchain
	@.ci/apt-install $(BUILD_PACKAGES)

test-deps:
	@.ci/apt-install $(TEST_PACKAGES)
	@.ci/peer-deps

toolchain:
	@command -v $(CARGO) >/dev/null 2>&1 || { \
	  echo "error: cargo not found: install Rust 1.95 or newer with rustup (https://rustup.rs)" >&2; exit 1; }
