# End-to-end tests, included by the top-level Makefile; not part of `make test`.
#
#   make e2e    builds pullfix; builds the cluster's binaries from their Go modules when they are
#               not cached yet (test/e2e/cluster/build.sh, ~/.cache/pullfix-e2e; about 20 minutes
#               cold); then runs two suites, each against its own cluster on 127.0.0.1 with
#               pullfix serve and the manifests' webhook configuration, with the real kubectl:
#                 api   etcd + kube-apiserver (test/e2e/*.test.ts): what the API server stores
#                 node  a one-node cluster: + controller-manager, scheduler, containerd, runc,
#                       kubelet and a registry (test/e2e/node/*.test.ts): what really runs,
#                       pullfix's own image (tools/build-image.sh) installed from the Helm
#                       chart and with make deploy among it
#               Stops everything it started, by PID, and puts the host back as it was.
#
#   make e2e E2E_SUITE=api              one suite (api or node; default: both)
#   make e2e E2E_GREP=updates           only the tests whose titles match (mocha --grep)
#   make e2e PULLFIX_E2E_NO_WEBHOOK=1   the same without the webhook configuration: the suites
#                                       must fail, which shows that they can.
#
# Needs Go (PATH or /usr/local/go), kubectl and openssl besides Node.js; the node suite also needs
# root, cgroups, runc, docker-registry and busybox (test/e2e/cluster/host-packages.sh installs them).

# Included anywhere in a Makefile, this rule must not become its default goal.
pullfix_e2e_saved_goal := $(.DEFAULT_GOAL)

E2E_SUITE ?= all

.PHONY: e2e

e2e: SHELL := /bin/bash
e2e: build
	@set -euo pipefail; \
	case '$(E2E_SUITE)' in all) suites='api node';; api|node) suites='$(E2E_SUITE)';; \
	  *) echo "e2e: E2E_SUITE must be api, node or all (got '$(E2E_SUITE)')" >&2; exit 2;; esac; \
	what=api; case " $$suites " in *' node '*) what=all; bash test/e2e/cluster/host-packages.sh;; esac; \
	bins=$$(bash test/e2e/cluster/build.sh $$what); \
	while IFS='=' read -r name path; do export "PULLFIX_E2E_$$name=$$path"; done <<<"$$bins"; \
	versions="kube-apiserver $$("$$PULLFIX_E2E_KUBE_APISERVER" --version | sed 's/^Kubernetes //'), etcd $$("$$PULLFIX_E2E_ETCD" --version | sed -n 's/^etcd Version: //p'), kubectl $$(kubectl version --client | sed -n 's/^Client Version: //p')"; \
	if [ $$what = all ]; then versions="$$versions, kubelet $$("$$PULLFIX_E2E_KUBELET" --version | sed 's/^Kubernetes //'), containerd $$("$$PULLFIX_E2E_CONTAINERD" --version | awk '{print $$3}'), runc $$(runc --version | sed -n 's/^runc version //p')"; fi; \
	echo "e2e: $$versions"; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	status=0; summary=''; \
	for suite in $$suites; do \
	  config=test/e2e/.mocharc.json; [ $$suite = node ] && config=test/e2e/node/.mocharc.json; \
	  echo "e2e: $$suite suite"; \
	  s=0; npx mocha --config $$config $(if $(E2E_GREP),--grep '$(E2E_GREP)') 2>&1 | tee "$$log" || s=$$?; \
	  [ $$s -eq 0 ] || status=$$s; \
	  counts=$$(grep -Eo '^ +[0-9]+ (passing|failing|pending)' "$$log" | sed 's/^ *//' | paste -sd, - | sed 's/,/, /g'); \
	  summary="$$summary$${summary:+; }$$suite: $${counts:-no result}"; \
	done; \
	echo "e2e: $$summary against $$versions"; \
	exit $$status

.DEFAULT_GOAL := $(pullfix_e2e_saved_goal)
