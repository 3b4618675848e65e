# SPDX-License-Identifier: GPL-2.0-only
#
# drm_gpusvm / drm_pagemap / vsvm: GPU shared virtual memory for Linux 6.12.
# The kernel work happens in a cache outside the clone (GPUSVM_CACHE,
# default /var/cache/gpusvm); logs land in out/logs/.

HARNESS := tools/harness/run

.PHONY: all deps tree build obj kunit selftests lint check faults stress fuzz demo bench coverage inject-check fresh-check docs patches clean help

all: build

help:
	@echo "make deps          install what the project needs (Debian packages)"
	@echo "make build         prepare the 6.12 tree in \$$GPUSVM_CACHE and build the test kernel"
	@echo "make check         build, run KUnit + selftests + hmm-tests under QEMU, summarise"
	@echo "make faults        the long fault-injection run: KUnit under failslab/fail_page_alloc limited to"
	@echo "                   our code, vsvm_faults_test long sweeps; no splat, leak or lost byte"
	@echo "make stress        boot with vsvm and run vsvm_stress for STRESS_S seconds (default 600)"
	@echo "make fuzz          boot with vsvm dmirror=1 and run vsvm_fuzz for FUZZ_S seconds (default 600);"
	@echo "                   FUZZ_SEED=N replays a seed (make check too)"
	@echo "make demo          boot with vsvm and run the demo workload"
	@echo "make bench         non-debug kernel: vsvm vs test_hmm vs memcpy, table + out/bench/bench.{json,png}"
	@echo "                   BENCH_ONLY=profile: only the tick profiles, per-function diff vsvm - test_hmm"
	@echo "make coverage      gcov kernel: the guest suites of check, line/branch coverage of drm_gpusvm.c,"
	@echo "                   drm_pagemap.c and vsvm: table + out/coverage/{index.html,uncovered.txt}"
	@echo "make selftests     run only the vsvm selftests (no KUnit, no hmm-tests); SELFTESTS=a,b: some;"
	@echo "                   KNOWN_BUGS=1: the known-bug reproducers too (they fail while the bug is there);"
	@echo "                   KNOWN_BUGS=N: each runs N minutes (2-60) instead of 5"
	@echo "make kunit         run only the KUnit suites (KUNIT_FILTER='drm_pagemap*')"
	@echo "make lint          checkpatch --strict, kernel-doc, W=1, sparse, uapi header, seed API, coccicheck"
	@echo "make obj OBJ=...   compile one object with W=1"
	@echo "make docs          Sphinx HTML of Documentation/gpu into out/docs, fails on warnings in our files"
	@echo "make patches       format-patch series against 6.12 into out/patches, checked and built"
	@echo "make inject-check  make check with every failure injected: passes only if each gate bites"
	@echo "make fresh-check   make deps + make check from a fresh clone in a new Debian 12 debootstrap root"

deps:
	@$(HARNESS) deps

tree:
	@$(HARNESS) tree

build:
	@$(HARNESS) build

obj:
	@OBJ="$(OBJ)" $(HARNESS) obj

kunit:
	@KUNIT_FILTER="$(KUNIT_FILTER)" $(HARNESS) kunit

check:
	@INJECT="$(INJECT)" FUZZ_SEED="$(FUZZ_SEED)" $(HARNESS) check

# The long fault-injection run (README, "make faults"); SWEEP_S and
# KUNIT_SWEEP_S bound each selftest and KUnit sweep in seconds (0: none).
faults:
	@SWEEP_S="$(SWEEP_S)" KUNIT_SWEEP_S="$(KUNIT_SWEEP_S)" $(HARNESS) faults

# The seeded stress program alone, longer than in make check.
stress:
	@STRESS_S="$(STRESS_S)" $(HARNESS) stress

# The seeded ioctl fuzzer alone, longer than in make check.
fuzz:
	@FUZZ_S="$(FUZZ_S)" FUZZ_SEED="$(FUZZ_SEED)" $(HARNESS) fuzz

demo:
	@$(HARNESS) demo

bench:
	@$(HARNESS) bench

# gcov coverage of our kernel code after the guest suites of make check
# (own build directory; fails only if the collection failed).
coverage:
	@$(HARNESS) coverage

selftests:
	@$(HARNESS) selftests

lint:
	@$(HARNESS) lint

docs:
	@$(HARNESS) docs

patches:
	@$(HARNESS) patches

# The gates must bite: make check with failures injected (INJECT=all, or a
# comma-separated list of tools/harness/inject/expect) must fail, each gate
# with its own message.
inject-check:
	@INJECT="$(INJECT)" $(HARNESS) inject-check

# The README's two commands on a machine that has never seen the project.
fresh-check:
	@$(HARNESS) fresh-check

clean:
	rm -rf out
