# oobd: the test command is `make test` (it installs what the tests need).
GO ?= go
PKGS ?= ./...
BIN ?= bin

.PHONY: test test-deps build cross vet fmt-check fuzz bench bench-quick demo deb check-deb soak

test: test-deps
	$(GO) test -race -count=1 -timeout 9m $(PKGS)

test-deps:
	./scripts/install-test-deps.sh

build:
	$(GO) build -o $(BIN)/oobd ./cmd/oobd

# The real targets: Raspberry Pi (ARMv6/v7/v8) on Linux and FreeBSD, and amd64.
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -o $(BIN)/oobd-linux-amd64 ./cmd/oobd
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -o $(BIN)/oobd-linux-armv6 ./cmd/oobd
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -o $(BIN)/oobd-linux-armv7 ./cmd/oobd
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o $(BIN)/oobd-linux-arm64 ./cmd/oobd
	CGO_ENABLED=0 GOOS=freebsd GOARCH=arm GOARM=6 $(GO) build -o $(BIN)/oobd-freebsd-armv6 ./cmd/oobd
	CGO_ENABLED=0 GOOS=freebsd GOARCH=arm64 $(GO) build -o $(BIN)/oobd-freebsd-arm64 ./cmd/oobd

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Long fuzz runs (the corpora under testdata/fuzz run with every `make test`).
FUZZTIME ?= 60s
fuzz:
	./scripts/fuzz-all.sh $(FUZZTIME)

# Every figure beside its reference, as root (docs/bench-draft.md): about
# 11 minutes; BENCH_WINDOW=2m shortens the idle windows; bench-quick is a
# smoke run of under 3 minutes.
bench:
	./bench/run.sh

bench-quick:
	BENCH_QUICK=1 ./bench/run.sh

# Debian packages for the Pi (armhf, built for ARMv6 so one package serves
# every model), 64-bit ARM and amd64, into $(BIN)/: packaging/deb/build.sh.
DEB_ARCHES ?= armhf arm64 amd64
deb:
	for a in $(DEB_ARCHES); do GO=$(GO) ./packaging/deb/build.sh $$a $(BIN) || exit 1; done

# Build, install, check, remove and purge the packages, and lintian them
# (root, on Debian; CI runs it).
check-deb:
	./scripts/check-deb.sh

# The soak: the real oobd through 58 sessions in a row with faults in
# between and during them (jump host sshd restarts, the dialer dying, a
# silent modem, SIGKILL and restart, a full SIM, wrong secrets); fails on a
# missed notice, anything left up, or descriptors, goroutines or memory
# that grow. Root, like `make test`; about 12 minutes; not part of `make
# test` or CI. SOAKFLAGS=-race builds oobd with the race detector too
# (slower; its memory figures are not comparable).
SOAKFLAGS ?=
soak: test-deps
	$(GO) test -tags soak -run '^TestSoak$$' -count=1 -v -timeout 30m $(SOAKFLAGS) ./oob/agent/
