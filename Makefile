# Shoebox -- self-hosted photo library.
#   make setup   install system deps, pgvector, fetch fixtures + sample corpus
#   make build   build bin/shoebox (cgo: libvips)
#   make run     index testdata/corpus and serve it at http://127.0.0.1:8080
#   make test    setup --test, build, go vet, go test, e2e (if present)
#   make bench   setup --test, build, bench/run.sh (and the other bench programs)
#   make bench-scale N=1000000 INDEX=0   bench/scale at other sizes (outside CI)
#   make clean   remove build/test outputs; `make distclean` also fetched data
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := build

export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 1

BIN     ?= bin/shoebox
LIBRARY ?= testdata/corpus
GO      ?= go

.PHONY: all build setup setup-test run test vet e2e bench bench-scale lint-compose clean distclean

all: build

build:
	CGO_ENABLED=1 $(GO) build -o $(BIN) ./cmd/shoebox

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

# Steps run in sequence inside one recipe (not as parallel prerequisites), so
# `make -j` cannot build before setup has installed libvips.
run:
	scripts/setup.sh
	$(MAKE) --no-print-directory build
	./$(BIN) serve --library $(LIBRARY)

vet:
	$(GO) vet ./...

test:
	scripts/setup.sh --test
	$(MAKE) --no-print-directory build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory e2e

# The browser test: a real Chromium against a real server.
e2e:
	node e2e/gallery.test.mjs
	node --test e2e/organise.test.mjs
	node --test e2e/upload.test.mjs
	node --test e2e/map.test.mjs

bench:
	scripts/setup.sh --test --faces-data
	$(MAKE) --no-print-directory build
	bash bench/run.sh
	go run ./bench/vector -n 100000
	go run ./bench/timeline -n 100000 -month 5000
	go run ./bench/scale -n 10000,100000 -index 1000,10000
	go run ./bench/video
	go run ./bench/faces
	bash bench/ai.sh
	bash bench/upload.sh

# bench/scale at sizes outside `make bench`: a million photos (the HNSW
# build alone takes ~15-30 minutes on 2 cores), or indexing 100,000 files.
N     ?= 1000000
INDEX ?= 0
bench-scale:
	scripts/setup.sh --test
	$(MAKE) --no-print-directory build
	go run ./bench/scale -n $(N) -index $(INDEX)

# Validate docker-compose.yml and the Dockerfile with whatever is available:
#   docker compose config   the reference check (schema, interpolation); needs
#                           the compose plugin, not an engine
#   docker build --check    BuildKit's Dockerfile checks; needs an engine
#   dclint                  compose schema + good practice (npm, run via npx)
#   dockerfilelint          basic Dockerfile checks (npm, run via npx)
# A failing check fails the target; a missing tool is reported and skipped.
# npx fetches the two npm linters on first use (pinned versions).
lint-compose:
	@ran=0; \
	if docker compose version >/dev/null 2>&1; then \
	  for f in docker-compose.yml docker-compose.scale.yml; do \
	    docker compose -f $$f config -q; echo "$$f: docker compose config ok"; done; ran=1; \
	else echo "docker compose: not installed; skipped"; fi; \
	if docker info >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then \
	  docker build --check .; \
	  echo "Dockerfile: docker build --check ok"; ran=1; \
	else echo "docker build --check: no Docker engine; skipped"; fi; \
	if command -v npx >/dev/null; then \
	  npx --yes dclint@3.1.0 docker-compose.yml docker-compose.scale.yml; \
	  echo "docker-compose.yml docker-compose.scale.yml: dclint ok"; \
	  npx --yes dockerfilelint@1.8.0 Dockerfile; \
	  ran=1; \
	else echo "npx: not installed; dclint and dockerfilelint skipped"; fi; \
	if [ $$ran = 0 ]; then echo "lint-compose: no linter available; nothing checked"; fi

clean:
	rm -rf bin/ e2e/screenshots/ e2e/test-results/ bench/out/

# Also drop fetched data and node_modules (setup fetches them again).
distclean: clean
	rm -rf testdata/fixtures/ testdata/corpus/ testdata/.fixtures.complete testdata/.corpus.complete testdata/faces/ e2e/node_modules/
