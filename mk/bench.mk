# Benchmark target, included by the top-level Makefile. Not part of `make test`: it takes
# about four minutes and its figures depend on the machine.
#
#   make bench     pullfix serve, a bare node:https server and a bare express app under the
#                  same TLS keep-alive load (h2load; installed from Debian when missing),
#                  plus in-process figures; prints a markdown report, writes bench/results.json
#
# Settings pass through the environment, e.g. `make bench BENCH_DURATION=5` (see bench/README.md).

# Included anywhere in a Makefile, this rule must not become its default goal.
pullfix_bench_saved_goal := $(.DEFAULT_GOAL)

.PHONY: bench
bench: build
	bash bench/bench.sh

.DEFAULT_GOAL := $(pullfix_bench_saved_goal)
