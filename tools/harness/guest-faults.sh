# SPDX-License-Identifier: GPL-2.0-only
#
# make faults: the long fault-injection run, sourced by /init (guest-init.sh,
# harness.mode=faults) with its helpers (say, run_suite, kmemleak_report).
#
# 1. The built-in KUnit suites ran at boot without injection (they gate as
#    in make check). Each is run again from debugfs (kunit/<suite>/run)
#    with failslab, then fail_page_alloc, failing the n-th allocation whose
#    call stack goes through drm_gpusvm_helper's text (drm_gpusvm.o and
#    drm_pagemap.o, built in; the harness passes where it is as
#    harness.gpusvm_text=<symbol>+<offset>/<size>). A case failing then is
#    recorded, not a failure: an allocation failure is a legitimate error
#    for a case expecting success. Splats and leaks still fail the run.
# 2. vsvm_faults_test in long mode (VSVM_FAULTS_LONG=1), vsvm with
#    dmirror=1; then its eviction variant with 4 MiB of VRAM per GPU.
#    fail-nth of the test thread counts every fault-injection point, but a
#    stack filter rejects those of dma-debug (kernel/dma/debug.c), which
#    would otherwise turn itself off for the rest of the boot.
# 3. A kmemleak scan of all of it.

FI=/sys/kernel/debug
KF_DENSE=${KF_DENSE:-4}
# Seconds after which a sweep stops (0: none): a KUnit one, a selftest one.
KF_SWEEP_S=${KF_SWEEP_S:-120}
SWEEP_S=${SWEEP_S:-30}
# The n-th point of a KUnit sweep: all up to KF_DENSE, then half as many
# again each time (a suite re-run takes seconds under TCG and KASAN).
kf_next() {
	if [ "$1" -lt "$KF_DENSE" ]; then
		echo $(($1 + 1))
	else
		echo $(($1 + $1 / 2))
	fi
}

# Address range [start, end) covering the text of objects given as
# "symbol+offset/size,..." (offset of the symbol in the object's .text, its
# size), from /proc/kallsyms: "0x<start> 0x<end>".
text_range() {
	lo= hi=
	for obj in $(echo "$1" | tr , ' '); do
		sym=${obj%%+*}
		off=${obj#*+}
		off=${off%%/*}
		size=${obj#*/}
		addr=$(awk -v s="$sym" '$3 == s && $4 == "" { print $1; exit }' /proc/kallsyms)
		[ -n "$addr" ] || return 1
		start=$((0x$addr - off))
		end=$((start + size))
		# Kernel text addresses are negative as signed numbers.
		if [ -z "$lo" ] || [ $((start - lo)) -lt 0 ]; then lo=$start; fi
		if [ -z "$hi" ] || [ $((end - hi)) -gt 0 ]; then hi=$end; fi
	done
	[ -n "$lo" ] || return 1
	printf '0x%x 0x%x\n' $lo $hi
}

# The call sites of dma-debug (kernel/dma/debug.c): from the first to the
# end of the last of its run-time functions (its __init ones are elsewhere),
# "0x<start> 0x<end>", or nothing if that span does not look like one file.
dma_debug_range() {
	awk '$2 ~ /^[tT]$/ && $4 == "" { print $1, $3 }' /proc/kallsyms | sort |
	awk '$2 ~ /^(debug_dma_|__?dma_entry_alloc|add_dma_entry|dma_debug_create_entries|dma_debug_add_bus|dma_debug_device_change|check_unmap$|check_sync$)/ {
		if (!first) first = $1; last = NR }
	     { addr[NR] = $1 }
	     END { if (first && addr[last + 1]) print "0x" first, "0x" addr[last + 1] }' |
	while read -r start end; do
		[ $((end - start)) -gt 0 ] && [ $((end - start)) -lt 262144 ] &&
			echo "$start $end"
	done
}

# The text of one function, "0x<start> 0x<end>" (up to the next symbol).
sym_range() {
	awk '$2 ~ /^[tT]$/ && $4 == "" { print $1, $3 }' /proc/kallsyms | sort |
	awk -v s="$1" 'found { print "0x" start, "0x" $1; exit }
		       $2 == s { found = 1; start = $1 }'
}

# fi_attr <attr> <require start> <require end> <reject start> <reject end>:
# fail GFP_KERNEL, highmem and order-0 allocations too, filter by stack,
# one stack dump per injected failure (the summary counts distinct ones),
# and stay disarmed (probability 0) until armed.
fi_attr() {
	A=$FI/$1
	echo 0 >$A/probability
	echo N >$A/ignore-gfp-wait
	if [ "$1" = fail_page_alloc ]; then
		echo N >$A/ignore-gfp-highmem
		echo 0 >$A/min-order
	fi
	echo 32 >$A/stacktrace-depth
	echo "$2" >$A/require-start
	echo "$3" >$A/require-end
	echo "$4" >$A/reject-start
	echo "$5" >$A/reject-end
	echo 2 >$A/verbose
	echo 0 >$A/verbose_ratelimit_interval_ms
	echo 0 >$A/space
	echo N >$A/task-filter
}

# kf_arm <attr> <interval>: fail the call that brings the attribute's
# counter to <interval> (the counter moves only while armed, and only for
# calls passing the stack filter; interval 1 fails the next one without
# counting).
kf_arm() {
	echo 0 >$FI/$1/probability
	echo "$2" >$FI/$1/interval
	echo 1 >$FI/$1/times
	echo 100 >$FI/$1/probability
}

kf_disarm() { echo 0 >$FI/$1/probability; }
kf_fired() { [ "$(cat $FI/$1/times)" = 0 ]; }

kf_run() {
	echo "harness: kunit-faults $1 $2 n=$3" >/dev/kmsg
	echo run >$FI/kunit/$1/run
	c=$(grep -cE '^ +not ok' $FI/kunit/$1/results 2>/dev/null)
	echo "${c:-0}"
}

# kunit_sweep <tap number> <suite> <attr>: sets KF_COUNT_<attr> to the
# attribute's counter after the sweep, or -1 once it is not known.
kunit_sweep() {
	num=$1 suite=$2 attr=$3
	eval count=\$KF_COUNT_$attr
	n=1 points=0 last=0 runs=0 cfail=0 note= t0=$(cut -d. -f1 /proc/uptime)
	if [ "$count" -lt 0 ]; then
		say "not ok $num kunit/$suite $attr # the counter of $attr is lost"
		return
	fi
	while [ $n -le 100000 ]; do
		if [ "$KF_SWEEP_S" -gt 0 ] &&
		   [ $(($(cut -d. -f1 /proc/uptime) - t0)) -gt "$KF_SWEEP_S" ]; then
			note=" (stopped after $KF_SWEEP_S s)"
			i=$((count + n))
			break
		fi
		i=$((count + n))
		kf_arm $attr $i
		f=$(kf_run $suite $attr $n)
		kf_disarm $attr
		runs=$((runs + 1))
		cfail=$((cfail + f))
		if ! kf_fired $attr; then
			break
		fi
		[ $i -gt 1 ] && count=$i
		points=$((points + 1))
		last=$n
		n=$(kf_next $n)
	done
	# The last run stopped short of the n-th call: fire the pending arm
	# so that the counter is known again (interval i) for the next sweep.
	tries=0
	while [ -z "$note" ] && [ $tries -lt 3 ] && ! kf_fired $attr; do
		echo 100 >$FI/$attr/probability
		f=$(kf_run $suite $attr resync)
		kf_disarm $attr
		cfail=$((cfail + f))
		tries=$((tries + 1))
	done
	if [ -n "$note" ]; then
		:	# stopped by the clock, nothing pending
	elif kf_fired $attr; then
		[ $i -gt 1 ] && count=$i
	else
		count=-1
		note=" (counter lost)"
	fi
	eval KF_COUNT_$attr=$count
	say "# faults: kunit/$suite $attr: points=$points path=$last runs=$runs cases_failed=$cfail$note"
	if [ $points -gt 0 ]; then
		say "ok $num kunit/$suite $attr"
	else
		say "not ok $num kunit/$suite $attr # no allocation of ours failed"
	fi
}

kunit_faults() {
	say "### begin faults/kunit"
	echo "harness: running faults/kunit" >/dev/kmsg
	range=$(text_range "$GPUSVM_TEXT") ||
		{ say "# cannot place $GPUSVM_TEXT with /proc/kallsyms"; range="0 0"; }
	say "# drm_gpusvm.o + drm_pagemap.o text: $range"
	# x86's add_pages() WARNs whenever __add_pages() fails, as it does
	# when an allocation of memremap_pages() for the memmap fails: not an
	# error path of ours, so those allocations are left alone.
	rej=$(sym_range add_pages)
	say "# rejected: add_pages ${rej:-not found}"
	set -- drm_gpusvm drm_pagemap
	say "1..$(($# * 2))"
	KF_COUNT_failslab=0
	KF_COUNT_fail_page_alloc=0
	num=1
	for attr in failslab fail_page_alloc; do
		# shellcheck disable=SC2086
		fi_attr $attr $range ${rej:-0 0}
		for suite in "$@"; do
			if [ -e $FI/kunit/$suite/run ]; then
				kunit_sweep $num $suite $attr
			else
				say "not ok $num kunit/$suite $attr # no $FI/kunit/$suite/run"
			fi
			num=$((num + 1))
		done
		kf_disarm $attr
		echo 0 >$FI/$attr/require-start
		echo 0xffffffffffffffff >$FI/$attr/require-end
		echo 1 >$FI/$attr/interval
	done
	say "### end faults/kunit rc=0"
}

# The selftests: fail-nth of the test thread, every point but dma-debug's.
faults_selftests() {
	dma=$(dma_debug_range)
	say "### harness: dma-debug text ${dma:-not found}"
	for attr in failslab fail_page_alloc; do
		# shellcheck disable=SC2086
		[ -z "$dma" ] || fi_attr $attr 0 0xffffffffffffffff $dma
	done
	export VSVM_FAULTS_LONG=1 VSVM_FAULTS_SWEEP_S=$SWEEP_S
	if modprobe vsvm dmirror=1; then
		run_suite vsvm/vsvm_faults_test@long 9000 \
			/tests/vsvm/vsvm_faults_test -V evict_2m
		modprobe -r vsvm || say "### harness: rmmod vsvm (faults) failed"
	else
		say "### harness: modprobe vsvm dmirror=1 (faults) failed"
	fi
	# Two 2 MiB chunks per GPU: the request has to evict to get room.
	if modprobe vsvm vram_mb=4; then
		run_suite vsvm/vsvm_faults_test@evict 3600 \
			/tests/vsvm/vsvm_faults_test -v evict_2m
		modprobe -r vsvm || say "### harness: rmmod vsvm (evict) failed"
	else
		say "### harness: modprobe vsvm vram_mb=4 failed"
	fi
	unset VSVM_FAULTS_LONG VSVM_FAULTS_SWEEP_S
}

[ -e /sys/kernel/debug/dma-api/disabled ] &&
	say "### harness: dma-debug disabled before the sweeps: $(cat /sys/kernel/debug/dma-api/disabled)"
kunit_faults
faults_selftests
if [ -r /sys/kernel/debug/dma-api/disabled ]; then
	say "### harness: dma-debug disabled after the sweeps: $(cat /sys/kernel/debug/dma-api/disabled)"
fi
kmemleak_report kmemleak@faults
