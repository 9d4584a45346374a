# The two commands: `make demo` and `make test`. Both install what is missing first.
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: setup build release demo test test-install image test-image bench fuzz docs install clean

setup:
	@scripts/setup.sh

build: setup
	@$(SWIFT) build

release: setup
	@$(SWIFT) build -c release

demo: release
	@scripts/demo.sh

test: setup
	@$(SWIFT) build --build-tests
	@PGSEAL_BIN="$$($(SWIFT) build --show-bin-path)/pgseal" $(SWIFT) test --skip-build

# Longer fuzzing than the short pass in `make test`: FUZZ_SECONDS per target (default 60).
fuzz: setup
	@scripts/fuzz.sh

# The release binary with the Swift runtime linked in, completions, manual pages, docs.
PREFIX ?= /usr/local
install: setup
	@SWIFT=$(SWIFT) scripts/install.sh "$(DESTDIR)$(PREFIX)"

# The installed binary in a minimal Debian 12 root with only the run-time packages (as root;
# about two minutes after a release build): keygen, export, verify --level deep.
test-install: setup
	@SWIFT=$(SWIFT) scripts/test-install.sh

# The container image of that root (Containerfile), built with podman (installed if missing).
image: setup
	@SWIFT=$(SWIFT) scripts/image.sh

# The built image's root filesystem, taken out of it, through test-install's checks (as root).
test-image: image
	@SWIFT=$(SWIFT) scripts/test-image.sh

# PGSealKit's documentation (DocC), as a static site in .build/docs.
docs: setup
	@$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target PGSealKit \
		--output-path .build/docs --transform-for-static-hosting --hosting-base-path pgseal
	@echo "PGSealKit documentation: .build/docs/index.html"

bench: release
	@benchmarks/run.sh

clean:
	@rm -rf .build .demo
