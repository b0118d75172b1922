# End-to-end tests, included by the top-level Makefile; not part of `make test`.
#
#   make e2e    builds pullfix; builds kube-apiserver and etcd from their Go modules when they
#               are not cached yet (test/e2e/cluster/build.sh, ~/.cache/pullfix-e2e); starts
#               them on 127.0.0.1 with pullfix serve and the manifests' webhook configuration;
#               runs test/e2e with the real kubectl; stops everything it started.
#
#   make e2e E2E_GREP=updates           only the tests whose titles match (mocha --grep)
#   make e2e PULLFIX_E2E_NO_WEBHOOK=1   the same without the webhook configuration: the suite
#                                       must fail, which shows that it can.
#
# Needs Go (PATH or /usr/local/go), kubectl and openssl besides Node.js.

# Included anywhere in a Makefile, this rule must not become its default goal.
pullfix_e2e_saved_goal := $(.DEFAULT_GOAL)

.PHONY: e2e

e2e: SHELL := /bin/bash
e2e: build
	@set -euo pipefail; \
	bins=$$(bash test/e2e/cluster/build.sh); \
	export PULLFIX_E2E_KUBE_APISERVER=$$(sed -n 1p <<<"$$bins"); \
	export PULLFIX_E2E_ETCD=$$(sed -n 2p <<<"$$bins"); \
	versions="kube-apiserver $$("$$PULLFIX_E2E_KUBE_APISERVER" --version | sed 's/^Kubernetes //'), etcd $$("$$PULLFIX_E2E_ETCD" --version | sed -n 's/^etcd Version: //p'), kubectl $$(kubectl version --client | sed -n 's/^Client Version: //p')"; \
	echo "e2e: $$versions"; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	status=0; npx mocha --config test/e2e/.mocharc.json $(if $(E2E_GREP),--grep '$(E2E_GREP)') 2>&1 | tee "$$log" || status=$$?; \
	counts=$$(grep -Eo '^ +[0-9]+ (passing|failing|pending)' "$$log" | sed 's/^ *//' | paste -sd, - | sed 's/,/, /g'); \
	echo "e2e: $${counts:-no result} against $$versions"; \
	exit $$status

.DEFAULT_GOAL := $(pullfix_e2e_saved_goal)
