# Chart and release artefacts, included by the top-level Makefile (also usable on its own:
# make -f mk/chart.mk ...). Nothing here talks to a cluster.
#
#   make chart-readme     charts/pullfix/README.md from the `# --` comments of values.yaml
#                         (tools/chart-readme.mjs); make test fails when it is not up to date
#   make chart-package    helm lint --strict, then helm package into $(CHART_OUT)
#   make chart-push CHART_REGISTRY=oci://ghcr.io/pullfix/charts
#                         chart-package, then helm push to that OCI repository (log in first with
#                         `helm registry login`); CHART_PLAIN_HTTP=1 for a registry without TLS
#   make plugin-release   the kubectl plugin's release tarball and its krew manifest in
#                         $(RELEASE_OUT): kubectl-pullfix-<version>.tar.gz (dist/src, package.json,
#                         production node_modules, the kubectl-pullfix launcher; needs node on
#                         PATH) and pullfix.yaml (krew's Plugin, sha256 of that tarball, uri under
#                         $(RELEASE_URL))
#   make image-krm        the KRM function image: the image of `make image` with entrypoint
#                         `pullfix krm` (tools/build-image.sh IMAGE_VARIANT=krm) into $(IMAGE_KRM_OUT);
#                         pushed to IMAGE_KRM_PUSH when set (IMAGE_INSECURE=1: plain HTTP)
#   make image-multiarch IMAGE_PUSH=ghcr.io/pullfix/pullfix:0.1.0
#                         the image for linux/amd64 and linux/arm64 (tools/build-image-index.sh;
#                         no emulation needed), each pushed as <tag>-linux-<arch>, and the
#                         multi-platform index of both as IMAGE_PUSH; IMAGE_VARIANT=krm for the
#                         KRM function image
#
# HELM defaults to the one tools/build-helm.sh caches (building it the first time).

# Included anywhere in a Makefile, these rules must not become its default goal.
pullfix_chart_saved_goal := $(.DEFAULT_GOAL)

CHART_DIR := charts/pullfix
CHART_OUT ?= .run/chart
CHART_REGISTRY ?=
CHART_PLAIN_HTTP ?= 0
HELM ?= $(shell c=$${PULLFIX_TOOLS_CACHE:-$$HOME/.cache/pullfix-tools}/helm-v3.22.0/helm; [ -x "$$c" ] && echo "$$c" || bash tools/build-helm.sh)
IMAGE_KRM ?= ghcr.io/pullfix/pullfix-krm:$(shell node -p 'require("./package.json").version')
IMAGE_KRM_OUT ?= .run/image/krm
IMAGE_KRM_PUSH ?=
IMAGE_MULTIARCH_OUT ?= .run/image/multiarch
IMAGE_VARIANT ?= serve
RELEASE_OUT ?= .run/release
# Where the release tarball is downloaded from; the krew manifest's uri is $(RELEASE_URL)/<tarball>.
RELEASE_URL ?= https://github.com/pullfix/pullfix/releases/download/v$(shell node -p 'require("./package.json").version')

.PHONY: chart-readme chart-package chart-push chart-registry-check plugin-release image-krm image-multiarch

chart-readme chart-package chart-push plugin-release image-krm image-multiarch: SHELL := /bin/bash

chart-readme:
	node tools/chart-readme.mjs

chart-package:
	node tools/chart-readme.mjs --check
	$(HELM) lint --strict $(CHART_DIR)
	@mkdir -p $(CHART_OUT)
	$(HELM) package $(CHART_DIR) --destination $(CHART_OUT)

# The registry is checked before anything is built (prerequisites run in order).
chart-push: chart-registry-check chart-package
	@set -euo pipefail; \
	version=$$(sed -n 's/^version: *//p' $(CHART_DIR)/Chart.yaml | tr -d '"'); \
	$(HELM) push $(CHART_OUT)/pullfix-$$version.tgz '$(CHART_REGISTRY)' $(if $(filter 1,$(CHART_PLAIN_HTTP)),--plain-http)

chart-registry-check:
	@case '$(CHART_REGISTRY)' in oci://?*) ;; \
	  *) echo "chart-push: CHART_REGISTRY must be an OCI repository, e.g. oci://ghcr.io/pullfix/charts (got '$(CHART_REGISTRY)')" >&2; exit 2;; esac

# Compiles as `make build` does, without recursive make (this file is also used on its own).
plugin-release:
	npx tsc -p tsconfig.json
	@printf '{"commit":"%s"}\n' "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" > dist/src/build-info.json
	@set -euo pipefail; \
	tarball=$$(RELEASE_OUT='$(RELEASE_OUT)' bash tools/plugin-tarball.sh); \
	node tools/krew-manifest.mjs --tarball "$$tarball" --uri-base '$(RELEASE_URL)' --out '$(RELEASE_OUT)/pullfix.yaml'

image-krm:
	npx tsc -p tsconfig.json
	@printf '{"commit":"%s"}\n' "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" > dist/src/build-info.json
	IMAGE='$(IMAGE_KRM)' IMAGE_OUT='$(IMAGE_KRM_OUT)' IMAGE_PUSH='$(IMAGE_KRM_PUSH)' IMAGE_PLATFORM='$(IMAGE_PLATFORM)' \
	  IMAGE_INSECURE='$(IMAGE_INSECURE)' IMAGE_VARIANT=krm bash tools/build-image.sh

image-multiarch:
	npx tsc -p tsconfig.json
	@printf '{"commit":"%s"}\n' "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" > dist/src/build-info.json
	IMAGE_PUSH='$(IMAGE_PUSH)' IMAGE_OUT='$(IMAGE_MULTIARCH_OUT)' IMAGE_INSECURE='$(IMAGE_INSECURE)' \
	  IMAGE_VARIANT='$(IMAGE_VARIANT)' bash tools/build-image-index.sh

.DEFAULT_GOAL := $(pullfix_chart_saved_goal)
