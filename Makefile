# herdbot — see README.md. `make help` lists the targets.
SHELL := /bin/bash
CLAUDE_VERSION := 2.1.332
GO            ?= go
BIN           := bin/herdbot
TOOLS         := .tools
CLAUDE_BIN    := $(TOOLS)/node_modules/.bin/claude
# Written once the pinned version is installed, so a new CLAUDE_VERSION
# reinstalls the CLI into a .tools/ that holds an older one.
CLAUDE_STAMP  := $(TOOLS)/claude-code-$(CLAUDE_VERSION).installed
PREFIX        ?= /usr/local
# Go tools for make lint, pinned, installed from the module proxy by
# make lint-tools (their own directory: .tools may be shared).
GOTOOLS       ?= $(CURDIR)/.gotools
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION    := v0.52.0
STATICCHECK   := $(GOTOOLS)/staticcheck-$(STATICCHECK_VERSION)
DEADCODE      := $(GOTOOLS)/deadcode-$(DEADCODE_VERSION)
# The binary knows the checkout it was built in, to find the pinned CLI in
# its .tools/ wherever the binary is run from (start --demo).
LDFLAGS       := -s -w -X main.version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev) -X main.checkoutDir=$(CURDIR)

export CGO_ENABLED ?= 0

.PHONY: help build install test test-short run tools lint-tools agent-image docker-up lint bench clean

help:
	@echo "make run          start the example fleet with console chat and the demo model (no tokens needed)"
	@echo "make build        static binary in $(BIN)"
	@echo "make install      install herdbot into $(PREFIX)/bin (PREFIX=~/.local for your own user)"
	@echo "make tools        install the pinned Claude Code CLI $(CLAUDE_VERSION) into $(TOOLS)/"
	@echo "make agent-image  build the local agent image herdbot-agent:$(CLAUDE_VERSION) from that CLI (no registry)"
	@echo "make docker-up    start Debian's docker.io engine when docker info fails and we are root"
	@echo "make test         everything: make lint, then go test ./... with -race and again without (Docker and the CLI tests need make docker-up, make tools)"
	@echo "make test-short   go test -race -short ./..."
	@echo "make lint         gofmt, go vet, go mod tidy -diff, staticcheck, deadcode (installs the last two: make lint-tools)"
	@echo "make lint-tools   install the pinned staticcheck and deadcode into $(GOTOOLS)/ (from the Go module proxy)"
	@echo "make bench        run the benchmarks (figures go to docs/benchmarks.md)"
	@echo "make clean        remove bin/ and the test logs"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/herdbot

install: build
	install -d $(PREFIX)/bin
	install -m 0755 $(BIN) $(PREFIX)/bin/herdbot

# -race needs cgo; the binary itself is static (CGO_ENABLED=0 above).
# The suite runs twice, as CI runs it: with -race, then without (a test
# that passes only under the race detector's slower scheduling is a bug).
# Both runs always happen; make test fails when either failed. The full
# logs go to .test.out and .test-norace.out; the package lines, failures,
# skips and a count of each run are printed.
suite = echo "go test $(1) ./... (log: $(2))"; \
	CGO_ENABLED=1 $(GO) test $(1) -count=1 -timeout 12m -v ./... > $(2) 2>&1; s=$$?; \
	grep -E '^(ok|FAIL|panic:|--- FAIL|--- SKIP|\?)' $(2); \
	grep -A4 '^panic: test timed out' $(2) | head -40; \
	grep -B2 -A20 -- '--- FAIL' $(2) | head -200; \
	echo "$(1): $$(grep -c -- '--- PASS' $(2)) passed, $$(grep -c -- '--- FAIL' $(2)) failed, $$(grep -c -- '--- SKIP' $(2)) skipped"

test: lint
	@st=0; \
	$(call suite,-race,.test.out); [ $$s = 0 ] || st=1; \
	$(call suite,-race=false,.test-norace.out); [ $$s = 0 ] || st=1; \
	exit $$st

test-short:
	CGO_ENABLED=1 $(GO) test -race -short ./...

run: build tools
	./$(BIN) start --demo -c deploy/example/herdbot.yaml

tools: $(CLAUDE_STAMP)

$(CLAUDE_STAMP):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --prefix . @anthropic-ai/claude-code@$(CLAUDE_VERSION)
	$(CLAUDE_BIN) --version | grep -q '^$(CLAUDE_VERSION) ' || { $(CLAUDE_BIN) --version; echo "expected Claude Code $(CLAUDE_VERSION)"; exit 1; }
	rm -f $(TOOLS)/claude-code-*.installed
	touch $@

docker-up:
	@if docker info >/dev/null 2>&1; then echo "docker engine: up"; \
	elif [ "$$(id -u)" != 0 ]; then echo "docker engine not reachable and not root: start it yourself"; \
	else \
	  command -v dockerd >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io iptables >/dev/null); \
	  (nohup dockerd >/tmp/herdbot-dockerd.log 2>&1 &); \
	  for i in $$(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null && echo "docker engine: started"; \
	fi

# deadcode runs twice: code of the packages herdbot ships must be reached
# from a program (code only tests call is dead too); the test helper
# packages (*test/, internal/testenv) must be reached from some test.
lint: lint-tools
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt wants to reformat:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(STATICCHECK) ./...
	@out=$$($(DEADCODE) ./... | grep -Ev '^[^:]*(test|testenv)/'); if [ -n "$$out" ]; then echo "deadcode: unreachable from the programs:"; echo "$$out"; exit 1; fi
	@out=$$($(DEADCODE) -test ./...); if [ -n "$$out" ]; then echo "deadcode -test: unreachable from the programs and tests:"; echo "$$out"; exit 1; fi

lint-tools: $(STATICCHECK) $(DEADCODE)

$(STATICCHECK):
	mkdir -p $(GOTOOLS)
	GOBIN=$(GOTOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(GOTOOLS)/staticcheck $@

$(DEADCODE):
	mkdir -p $(GOTOOLS)
	GOBIN=$(GOTOOLS) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)
	mv $(GOTOOLS)/deadcode $@

bench:
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin .test.out .test-norace.out

# The local agent image with the real pinned CLI, FROM scratch, no registry
# (sandbox/docker BuildCLIImage; ~8 s cold, <1 s when up to date).
agent-image: $(CLAUDE_STAMP)
	$(GO) run ./scripts/agentimage -tag herdbot-agent:$(CLAUDE_VERSION) -claude $(CLAUDE_BIN)
