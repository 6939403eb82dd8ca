# efs — see README.md. `make demo` and `make test` work on a fresh machine.
GO      ?= go
BIN     := bin/efs
PKGS    := ./...
FUZZTIME ?= 30s

.PHONY: build test unit e2e demo bench fuzz lint cross deps clean

build:
	$(GO) build -o $(BIN) ./cmd/efs

deps:
	scripts/deps.sh test

# Everything CI runs: lint, unit and fuzz-seed tests, race-checked FUSE
# packages, and the end-to-end tests (test/...) against real mounts, rsync
# and rclone. The RACE packages run once, under the race detector; every
# other package (test/reverse and test/forward included: they drive the
# binary, so -race on them checks nothing) runs once without it.
RACE    := ./reverse/... ./forward/...

test: deps lint cross build
	race=$$($(GO) list $(RACE)) && \
	  $(GO) test -count=1 -timeout 30m $$($(GO) list $(PKGS) | grep -v -x -F "$$race")
	$(GO) test -count=1 -race -timeout 30m $(RACE)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The other systems efs is built for, and vet of everything there. reverse
# and mount need FUSE, which only the Linux build has; there they exit 8
# and name export, restore and serve instead (bench and the end-to-end
# tests in test/, like the FUSE tests, are Linux-only; test/windows runs
# the Windows build under Wine).
CROSS   := darwin/amd64 darwin/arm64 freebsd/amd64 linux/arm64 windows/amd64

cross:
	@for t in $(CROSS); do \
	  echo "GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build ./cmd/efs"; \
	  GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/efs || exit 1; \
	done
	GOOS=darwin $(GO) vet $(PKGS)
	GOOS=freebsd $(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)

demo:
	scripts/deps.sh demo
	$(GO) build -o $(BIN) ./cmd/efs
	scripts/demo.sh $(BIN)

bench:
	scripts/deps.sh bench
	$(GO) build -o $(BIN) ./cmd/efs
	$(GO) run ./bench -efs $(BIN) $(BENCH_FLAGS)

# Runs every fuzz target for FUZZTIME each (go test allows one at a time).
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
