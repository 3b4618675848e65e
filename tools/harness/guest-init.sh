#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the test initramfs. The kernel console is ttyS0; everything the
# harness parses (TAP from the selftests, kmemleak, the demo's table) goes
# to ttyS1, framed by "### begin <name>" / "### end <name> rc=<rc>".

/bin/busybox --install -s /bin
export PATH=/bin:/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

R=/dev/ttyS1
MODE=check
# Gate self-test (make inject-check): comma-separated list, or "all".
INJECT=
# Seconds of vsvm_stress: 75 in check mode, make stress passes its own.
STRESS_S=75
# Seconds of vsvm_fuzz's concurrent phase: 45 in check and coverage modes,
# make fuzz passes its own; its seed comes from the harness (fuzz_seed).
FUZZ_S=45
FUZZ_SEED=1
# make selftests SELFTESTS=a,b: only these programs of /tests/vsvm.
SELFTESTS=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	harness.mode=*) MODE=${arg#harness.mode=} ;;
	harness.inject=*) INJECT=${arg#harness.inject=} ;;
	harness.stress_s=*) STRESS_S=${arg#harness.stress_s=} ;;
	harness.fuzz_s=*) FUZZ_S=${arg#harness.fuzz_s=} ;;
	harness.fuzz_seed=*) FUZZ_SEED=${arg#harness.fuzz_seed=} ;;
	harness.selftests=*) SELFTESTS=${arg#harness.selftests=} ;;
	# make selftests KNOWN_BUGS=1: the known-bug reproducers run too;
	# KNOWN_BUGS=N: for N minutes each.
	harness.known_bugs=*) export VSVM_KNOWN_BUGS=${arg#harness.known_bugs=} ;;
	harness.gpusvm_text=*) GPUSVM_TEXT=${arg#harness.gpusvm_text=} ;;
	harness.kunit_dense=*) KF_DENSE=${arg#harness.kunit_dense=} ;;
	harness.kunit_sweep_s=*) KF_SWEEP_S=${arg#harness.kunit_sweep_s=} ;;
	harness.sweep_s=*) SWEEP_S=${arg#harness.sweep_s=} ;;
	# make bench BENCH_ONLY=profile: only the profile loops.
	harness.bench_only=*) BENCH_ONLY=${arg#harness.bench_only=} ;;
	esac
done

say() { echo "$*" >"$R"; }

# injected <what>: was this failure asked for?
injected() {
	case ",$INJECT," in
	*",$1,"* | *,all,*) return 0 ;;
	esac
	return 1
}

# run_suite <name> <timeout s> <command...>
run_suite() {
	name=$1
	limit=$2
	shift 2
	say "### begin $name"
	echo "harness: running $name" >/dev/kmsg
	timeout "$limit" "$@" >"$R" 2>&1
	rc=$?
	say "### end $name rc=$rc"
}

finish() {
	# dma-debug prints only its first report of a boot; it counts them all.
	if [ -r /sys/kernel/debug/dma-api/error_count ]; then
		say "### harness: dma-api errors $(cat /sys/kernel/debug/dma-api/error_count)"
	fi
	say "### harness: done"
	sync
	reboot -f
}

# kmemleak_report <section>: a leak check of everything so far. kmemleak
# only reports objects that stayed unreferenced across scans and are old
# enough. The section's rc is 0 only if both scans ran: writing "scan" runs
# one synchronously and fails with EPERM once kmemleak has disabled itself.
kmemleak_report() {
	K=/sys/kernel/debug/kmemleak
	say "### begin $1"
	if [ ! -e $K ]; then
		say "kmemleak: $K does not exist"
		say "### end $1 rc=2"
		return
	fi
	sleep 6
	krc=0
	echo scan >$K || krc=1
	echo scan >$K || krc=1
	cat $K >"$R" || krc=1
	say "### end $1 rc=$krc"
	# Reported objects are not reported again.
	echo clear >$K
}

# The stress program (tools/testing/selftests/drm/vsvm/vsvm_stress.c): it
# gives up 240 s after its run, so the limit only catches a hang in exit.
run_stress() {
	run_suite vsvm/stress $((STRESS_S + 300)) /tests/stress/vsvm_stress -s "$STRESS_S"
}

# The fuzzer (tools/testing/selftests/drm/vsvm/vsvm_fuzz.c): a sweep of
# boundary values, then FUZZ_S seconds of concurrent calls; a call that has
# not returned after 120 s fails it, so the limit only catches a hang in
# exit. Needs vsvm loaded with dmirror=1. Replay: FUZZ_SEED=<seed>.
run_fuzz() {
	say "### harness: vsvm_fuzz seed $FUZZ_SEED"
	run_suite vsvm/fuzz $((FUZZ_S + 400)) /tests/stress/vsvm_fuzz \
		-s "$FUZZ_S" -S "$FUZZ_SEED"
}

say "### harness: mode $MODE, kernel $(uname -r)"

if [ "$MODE" = kunit ]; then
	# Built-in KUnit suites ran before /init; nothing else to do.
	finish
fi

if [ "$MODE" = demo ]; then
	modprobe vsvm
	run_suite vsvm-demo 600 /bin/vsvm-demo
	modprobe -r vsvm
	finish
fi

if [ "$MODE" = stress ]; then
	# make stress: the stress program alone, for STRESS_S seconds, then
	# a leak check of what it left behind.
	modprobe vsvm || say "### harness: modprobe vsvm failed"
	run_stress
	modprobe -r vsvm || say "### harness: rmmod vsvm failed"
	kmemleak_report kmemleak
	finish
fi

if [ "$MODE" = fuzz ]; then
	# make fuzz: the fuzzer alone on the render nodes and the test_hmm
	# front end, for FUZZ_S seconds, then a leak check.
	echo 32 >/proc/sys/vm/nr_hugepages
	modprobe vsvm dmirror=1 || say "### harness: modprobe vsvm dmirror=1 failed"
	run_fuzz
	modprobe -r vsvm || say "### harness: rmmod vsvm failed"
	kmemleak_report kmemleak
	finish
fi

# profile_run <driver>: the kernel's tick profile (/proc/profile, boot
# parameter profile=2) of vsvm-bench's profile loops, each in a section
# "### begin profile@<driver>-<loop>": the loop's "profile" line, then
# /proc/profile gzipped and base64-encoded after a "### data" line.
profile_run() {
	[ -r /proc/profile ] || { say "### harness: no /proc/profile"; return; }
	for loop in fill migrate faultback migrate:4096 faultback:4096 \
		read:4096 read:65536 fill:67108864 migrate:67108864 \
		faultback:67108864; do
		say "### begin profile@$1-$loop"
		timeout 120 /bin/vsvm-bench "$1" --profile=$loop >"$R" 2>&1
		prc=$?
		say "### data"
		(set -o pipefail; gzip -9 </proc/profile | base64) >"$R" || prc=1
		say "### end profile@$1-$loop rc=$prc"
	done
}

# bench_driver <driver> <round> <modprobe args...>: one run of vsvm-bench
# through the driver's test_hmm front end, round <round> of BENCH_ROUNDS;
# after the last round (or alone, with BENCH_ONLY=profile) the driver's
# profile loops.
bench_driver() {
	drv=$1
	nth=$2
	shift 2
	if ! modprobe "$@"; then
		say "### harness: modprobe $* failed"
		return
	fi
	[ "$BENCH_ONLY" = profile ] ||
		run_suite bench@$drv 900 /bin/vsvm-bench $drv \
			--round=$nth/$BENCH_ROUNDS
	[ "$nth" != "$BENCH_ROUNDS" ] || profile_run $drv
	modprobe -r "$1" || say "### harness: rmmod $1 failed"
}

if [ "$MODE" = bench ]; then
	# make bench: the same workloads through the test_hmm ABI on
	# lib/test_hmm (module parameters as in check mode) and on vsvm's
	# front end, in BENCH_ROUNDS alternating runs, each with its share of
	# the samples: under TCG the time of a kernel path drifts between runs
	# of one boot (a driver's 4 KiB medians moved 1.8x from one run to the
	# next), and alternating shares that drift between the drivers.
	# vsvm-bench also times memcpy in each run. vsvm gets 256 MiB of VRAM
	# per GPU so that the 64 MiB cases never evict (test_hmm grows its
	# device memory on demand). Five rounds: a whole run of one driver
	# can be slow (vsvm's 4 KiB cells 2-6x its other runs, in one run out
	# of three in most boots), and the gate takes the median of the
	# rounds' ratios, which two such runs of five leave alone.
	BENCH_ROUNDS=5
	[ "$BENCH_ONLY" != profile ] || BENCH_ROUNDS=1
	round=1
	while [ $round -le $BENCH_ROUNDS ]; do
		bench_driver test_hmm $round test_hmm \
			spm_addr_dev0=0x40000000 spm_addr_dev1=0x50000000
		bench_driver vsvm $round vsvm dmirror=1 vram_mb=256
		round=$((round + 1))
	done
	# GPU 1 reading GPU 0's VRAM over the interconnect.
	if [ "$BENCH_ONLY" = profile ]; then
		:
	elif modprobe vsvm link=1 vram_mb=256; then
		run_suite bench@vsvm-link 900 /bin/vsvm-bench vsvm-link
		modprobe -r vsvm || say "### harness: rmmod vsvm (link) failed"
	else
		say "### harness: modprobe vsvm link=1 failed"
	fi
	finish
fi

# make coverage: every gcov data file of the kernel (only our objects are
# instrumented, in $GPUSVM_CACHE/build-coverage) as one base64 tar.gz
# between "### begin gcov" and "### end gcov rc=<rc>"; the harness decodes
# it (tools/harness/coverage.py). The files under /sys/kernel/debug/gcov are
# generated on open and stat as size 0, so each is read with cat into a
# tmpfs copy first. A module's counters survive its unload (gcov_persist=1).
# rc: 0 ok, 1 a read or the archive failed, 2 no gcov in this kernel, 3 no
# data file.
gcov_dump() {
	G=/sys/kernel/debug/gcov
	D=/tmp/gcov
	say "### begin gcov"
	if [ ! -d $G ]; then
		say "gcov: $G does not exist (kernel without CONFIG_GCOV_KERNEL?)"
		say "### end gcov rc=2"
		return
	fi
	rm -rf $D
	mkdir -p $D
	grc=0
	n=0
	for f in $(find $G -name '*.gcda'); do
		rel=${f#$G/}
		mkdir -p "$D/$(dirname "$rel")"
		cat "$f" >"$D/$rel" || { say "gcov: cannot read $f"; grc=1; }
		n=$((n + 1))
	done
	say "gcov: $n data files"
	[ $n -gt 0 ] || { say "### end gcov rc=3"; return; }
	(set -o pipefail; cd $D && tar -cf - . | gzip -9 | base64) >"$R" || grc=1
	say "### end gcov rc=$grc"
	rm -rf $D
}

if [ "$MODE" = faults ]; then
	. /faults.sh
	finish
fi

# --- check, selftests, coverage ---
echo 32 >/proc/sys/vm/nr_hugepages

# Two more GPUs whose VRAM is coherent memory: the ranges the harness
# reserves with memmap= (boot() in run), which lib/test_hmm uses too. One
# module at a time owns them.
COHERENT=coherent_base=0x40000000,0x50000000

# dmirror=1: vsvm_dmirror_test talks to the test_hmm front end
# (/dev/hmm_dmirror0-3); the other suites only use the render nodes, of
# private and coherent GPUs.
modprobe vsvm dmirror=1 $COHERENT || say "### harness: modprobe vsvm failed"
for t in /tests/vsvm/*; do
	[ -x "$t" ] || continue
	case ",$SELFTESTS," in
	,, | *",$(basename "$t"),"*) ;;
	*) continue ;;
	esac
	# A suite of the manifest that never runs must fail the run.
	[ "$(basename "$t")" = vsvm_mm_test ] && injected missing && continue
	# make check (and coverage) runs the fault injection later, after
	# everything of ours: see below.
	if [ "$(basename "$t")" = vsvm_faults_test ]; then
		case "$MODE" in check | coverage) continue ;; esac
	fi
	# KNOWN_BUGS=N (2-60, checked by the host): the reproducers run for
	# N minutes.
	suite_s=900
	[ "${VSVM_KNOWN_BUGS:-0}" -le 1 ] || suite_s=$((900 + VSVM_KNOWN_BUGS * 60))
	run_suite "vsvm/$(basename "$t")" $suite_s "$t"
done
# make check (and coverage): vsvm_stress too (75 s), and vsvm_fuzz (45 s),
# with the module the selftests used.
if [ "$MODE" = check ] || [ "$MODE" = coverage ]; then
	run_stress
	run_fuzz
fi
# A "not ok # TODO" is not a pass; a suite that stops short of its plan
# with status 0 is a failure.
if injected todo; then
	say "### begin inject/todo"
	say "1..1"
	say "not ok 1 injected_todo # TODO harness injection"
	say "### end inject/todo rc=0"
fi
if injected short; then
	say "### begin inject/short"
	say "1..3"
	say "ok 1 injected_first"
	say "### end inject/short rc=0"
fi
modprobe -r vsvm || say "### harness: rmmod vsvm failed"

# The GPUs on one interconnect: vsvm_peer_test ran above without the link,
# and runs again with it.
case ",$SELFTESTS," in
,, | *,vsvm_peer_test,*)
	if modprobe vsvm link=1; then
		run_suite vsvm/vsvm_peer_test@link 900 /tests/vsvm/vsvm_peer_test
		modprobe -r vsvm || say "### harness: rmmod vsvm (link) failed"
	else
		say "### harness: modprobe vsvm link=1 failed"
	fi
	;;
esac

if [ "$MODE" = selftests ]; then
	finish
fi

# Leak check of everything so far (KUnit, vsvm).
kmemleak_report kmemleak

# The peer suite: the kernel's own hmm-tests, unmodified, first against
# vsvm's test_hmm front end (vsvm dmirror=1: /dev/hmm_dmirror0/1 on GPUs 0
# and 1, /dev/hmm_dmirror2/3 on the coherent GPUs 2 and 3), then against lib/test_hmm itself, the baseline. Both claim the
# same device names, so one module at a time. The exclusive-access cases
# need THP in madvise mode on 6.12 (see DESIGN.md).
echo madvise >/sys/kernel/mm/transparent_hugepage/enabled
if modprobe vsvm dmirror=1 $COHERENT; then
	cd /tests/peer
	run_suite peer/hmm-tests@vsvm 900 ./hmm-tests
	cd /
	modprobe -r vsvm || say "### harness: rmmod vsvm (dmirror) failed"
else
	say "### harness: modprobe vsvm dmirror=1 failed"
fi

# Leaks of the vsvm peer run are ours: this section fails the run.
kmemleak_report kmemleak@vsvm

# Fault injection comes after every other suite of ours: fail-nth can fail
# an allocation of dma-debug itself, which then turns itself off for the
# rest of the boot (the summary notes it when that happens in this suite).
if modprobe vsvm; then
	run_suite vsvm/vsvm_faults_test 900 /tests/vsvm/vsvm_faults_test
	modprobe -r vsvm || say "### harness: rmmod vsvm (faults) failed"
else
	say "### harness: modprobe vsvm (faults) failed"
fi
kmemleak_report kmemleak@faults

# make coverage measures our code: no peer run against lib/test_hmm.
if [ "$MODE" = coverage ]; then
	gcov_dump
	finish
fi

if modprobe test_hmm spm_addr_dev0=0x40000000 spm_addr_dev1=0x50000000; then
	# Where its init code was: the summary recognises test_hmm's known
	# unload leak by the caller address in kmemleak's backtraces.
	say "### harness: test_hmm init text $(cat /sys/module/test_hmm/sections/.init.text)"
	cd /tests/peer
	run_suite peer/hmm-tests@test_hmm 900 ./hmm-tests
	cd /
	modprobe -r test_hmm
else
	say "### harness: modprobe test_hmm failed"
fi
echo always >/sys/kernel/mm/transparent_hugepage/enabled

# 6.12's test_hmm leaks its device names and private data on unload (it
# never drops the device reference); reported separately, not ours. It
# runs last so that nothing else can hide in this section.
kmemleak_report kmemleak@test_hmm

finish
