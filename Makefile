# pullfix: `make run` starts the webhook locally, `make test` runs every test.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
RUN_DIR := .run
PORT ?= 8443
HEALTH_PORT ?= 8080

.PHONY: all install build test lint run certs clean

all: build

include mk/cluster.mk
include mk/soak.mk
include mk/bench.mk
include mk/e2e.mk
include mk/chart.mk

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES)

build: install
	npx tsc -p tsconfig.json
	chmod +x dist/src/cli/main.js dist/src/cli/kubectl-pullfix.js dist/src/cli/kubectl-complete-pullfix.js
	@# The commit `pullfix version` reports (`unknown` outside a git checkout).
	@printf '{"commit":"%s"}\n' "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" > dist/src/build-info.json

lint: install
	npx tsc -p tsconfig.json --noEmit

test: build
	npx mocha

# Development certificates for `make run` (a throwaway CA and a serving certificate).
certs: $(RUN_DIR)/tls.crt

$(RUN_DIR)/tls.crt:
	bash certs/make-dev-certs.sh $(RUN_DIR)

run: build certs
	node dist/src/cli/main.js serve \
	  --config examples/config.yaml \
	  --namespaces examples/namespaces.yaml \
	  --tls-cert $(RUN_DIR)/tls.crt --tls-key $(RUN_DIR)/tls.key \
	  --port $(PORT) --health-port $(HEALTH_PORT)

clean:
	rm -rf dist $(RUN_DIR)
