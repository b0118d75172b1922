# Benchmark target, included by the top-level Makefile. Not part of `make test`: it takes
# about ten minutes and its figures depend on the machine.
#
#   make bench     pullfix serve, a bare node:https server and a bare express app under the
#                  same TLS keep-alive load (h2load; installed from Debian when missing),
#                  plus in-process figures; prints a markdown report, writes bench/results.json,
#                  then compares each figure with the committed bench/results.json (HEAD's, or
#                  the file as it was before the run outside git) and flags any more than 20%
#                  worse (bench/compare.ts). The comparison prints; it never fails the target:
#                  on a shared machine the figures move by more than that on their own.
#
# Settings pass through the environment, e.g. `make bench BENCH_DURATION=5` (see bench/README.md).

# Included anywhere in a Makefile, this rule must not become its default goal.
pullfix_bench_saved_goal := $(.DEFAULT_GOAL)

.PHONY: bench
bench: build
	@baseline=$$(mktemp); \
	git show HEAD:bench/results.json > "$$baseline" 2>/dev/null || cp bench/results.json "$$baseline" 2>/dev/null || : > "$$baseline"; \
	bash bench/bench.sh; status=$$?; \
	if [ $$status -eq 0 ]; then node dist/bench/compare.js --baseline "$$baseline" --current "$${BENCH_OUT:-bench/results.json}"; fi; \
	rm -f "$$baseline"; exit $$status

.DEFAULT_GOAL := $(pullfix_bench_saved_goal)
