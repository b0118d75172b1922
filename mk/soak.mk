# Soak test, included by the top-level Makefile; not part of `make test`.
#
#   make soak                                   5 minutes at 200 reviews/s
#   make soak SOAK_SECONDS=60 SOAK_RATE=100     a quick run
#
# Runs `pullfix serve` as a child process, drives it at a fixed rate over keep-alive TLS,
# samples its RSS, V8 heap and open file descriptors every 5 s, prints a table and a verdict:
# RSS and heap growth under 10% after a 30 s warm-up, every review answered, descriptors back
# to their count before the load. Exit status 0 on PASS, 1 on FAIL. Needs Linux (/proc).

# Included anywhere in a Makefile, these rules must not become its default goal.
pullfix_soak_saved_goal := $(.DEFAULT_GOAL)

SOAK_SECONDS ?= 300
SOAK_RATE ?= 200
SOAK_WARMUP_SECONDS ?= 30

.PHONY: soak

soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_RATE=$(SOAK_RATE) SOAK_WARMUP_SECONDS=$(SOAK_WARMUP_SECONDS) \
	  node dist/test/reliability/soak-driver.js

.DEFAULT_GOAL := $(pullfix_soak_saved_goal)
