# keydeck — see README.md. Everything goes through the go command; the only
# system needs are Go and a C compiler (SQLite is linked with cgo).

GO        ?= go
PKGS      ?= ./...
BIN       ?= bin/keydeck
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The race detector is on: the store, the server and the TUI are concurrent.
TESTFLAGS ?= -race -timeout 15m

.PHONY: run test build lint bench bench-pair fuzz

## run: the terminal UI on the default database (ARGS='--db x.db' to choose)
# Built to bin/ first and said so: `go run` shows nothing while the first
# build compiles SQLite, which takes minutes.
run:
	@echo "building keydeck (the first build compiles SQLite and takes a few minutes)…"
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/keydeck
	$(BIN) $(ARGS)

## test: every test, end-to-end scripts included. When PostgreSQL's Debian
## binaries are installed (apt-get install postgresql), a throwaway cluster
## on a loopback port serves the PostgreSQL tests and is removed after;
## without them those tests skip, saying so.
test:
	.ci/pg-cluster run -- $(GO) test $(TESTFLAGS) $(PKGS)

## build: the keydeck binary in bin/
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/keydeck

## lint: gofmt must have nothing to say, and go vet neither
lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## fuzz: every fuzz target for FUZZTIME each, one after another (go test
## fuzzes one target per run), stopping at the first failure; a crasher
## lands in the package's testdata/fuzz, to commit with the fix.
## FUZZFLAGS='-parallel 1' to leave the machine some room.
FUZZTIME  ?= 20s
FUZZFLAGS ?=
fuzz:
	@set -e; for p in $$($(GO) list -f '{{.ImportPath}}:{{.Dir}}' $(PKGS)); do \
		pkg=$${p%%:*}; grep -qs '^func Fuzz' $${p#*:}/*_test.go || continue; \
		names="$$($(GO) test -list '^Fuzz' $$pkg)" || { echo "$$names"; exit 1; }; \
		for name in $$(echo "$$names" | grep '^Fuzz'); do \
			echo "== $$pkg $$name ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg; \
		done; \
	done

## bench: POST /v1/verify vs a bare net/http handler with wrk, normal and
## strict, 8 and 64 connections (SPEC §7); fails when a target is missed.
## With PostgreSQL's Debian binaries installed it adds keydeck on a
## throwaway PostgreSQL cluster (fsync on), one node and three.
## Needs wrk (apt-get install -y wrk). BENCHFLAGS='-dir /some/disk/dir -duration 10s'
bench: build
	$(GO) build -o bin/keydeck-bench ./cmd/keydeck-bench
	.ci/pg-cluster run --fsync -- bin/keydeck-bench -keydeck $(BIN) $(BENCHFLAGS)

## bench-pair: this build against another in paired rounds (durability
## normal, 64 connections, 12 rounds of 3 s): AGAINST=bin/keydeck-other,
## or AGAINST_ENV=GOMAXPROCS=2 to run the same build differently.
AGAINST     ?=
AGAINST_ENV ?=
bench-pair: build
	@if [ -z '$(AGAINST)$(AGAINST_ENV)' ]; then echo "bench-pair: give AGAINST=bin/other or AGAINST_ENV=K=V"; exit 2; fi
	$(GO) build -o bin/keydeck-bench ./cmd/keydeck-bench
	bin/keydeck-bench -keydeck $(BIN) -against '$(AGAINST)' -against-env '$(AGAINST_ENV)' \
		-conns 64 -rounds 12 -duration 3s -warmup 1s $(BENCHFLAGS)
