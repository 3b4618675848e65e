# SPDX-License-Identifier: GPL-2.0-only
#
# "make fresh-check": the README's two commands on a machine that has never
# seen the project. Sourced by tools/harness/run (uses its variables and
# helpers), not run on its own.
#
# A minimal Debian 12 root is made with debootstrap (minbase, plus make: the
# README's commands are make targets) in $GPUSVM_FRESH/root, given the APT
# sources of a standard Debian 12 install, and a fresh clone of this
# repository's HEAD is put in /root/gpusvm inside it. With /proc, /sys and
# /dev bound, "make deps" and then "make check" run in a chroot with an
# empty environment: no package, cache, ccache or build of the host is
# visible. QEMU runs under TCG, so no /dev/kvm is needed.
#
#   $GPUSVM_FRESH/root/              the debootstrap root (kept until the next run)
#   $GPUSVM_FRESH/debootstrap.log
#   $GPUSVM_FRESH/fresh-check.log    make deps + make check, as printed
#   out/fresh-check.txt              the timings of the last run

FRESH=${GPUSVM_FRESH:-/var/cache/gpusvm-fresh}
FRESH_MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
FRESH_SECURITY=${FRESH_SECURITY:-http://deb.debian.org/debian-security}

fresh_umount() {
	local root=$1 m
	# Deepest first.
	for m in $(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

cmd_fresh_check() {
	local root=$FRESH/root head t0 t_boot t_deps t_check rc=0 dirty=""
	[ "$(id -u)" = 0 ] || die "fresh-check needs root (debootstrap, chroot, mount)"
	head=$(git -C "$ROOT" rev-parse HEAD)
	[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] ||
		dirty=" (the work tree has uncommitted changes: they are NOT tested)"
	mkdir -p "$FRESH" "$OUT"
	fresh_umount "$root"
	rm -rf "$root"

	t0=$SECONDS
	log "debootstrap bookworm (minbase + make) into $root, log: $FRESH/debootstrap.log"
	debootstrap --variant=minbase --include=make bookworm "$root" "$FRESH_MIRROR" \
		>"$FRESH/debootstrap.log" 2>&1 ||
		{ tail -20 "$FRESH/debootstrap.log" >&2; die "debootstrap failed"; }
	# The APT sources of a standard Debian 12 install (linux-source-6.12
	# comes from bookworm-security).
	cat >"$root/etc/apt/sources.list" <<-EOF
	deb $FRESH_MIRROR bookworm main
	deb $FRESH_MIRROR bookworm-updates main
	deb $FRESH_SECURITY bookworm-security main
	EOF
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	git clone -q --no-hardlinks "$ROOT" "$root/root/gpusvm"
	git -C "$root/root/gpusvm" checkout -q --detach "$head"
	t_boot=$((SECONDS - t0))
	log "fresh clone of $head in $root/root/gpusvm$dirty"

	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --make-rslave "$root/sys"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	trap 'fresh_umount "'"$root"'"' EXIT

	log "chroot: make deps && make check, log: $FRESH/fresh-check.log"
	# Each command's wall time is written where the host can read it.
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		${JOBS:+JOBS=$JOBS} /bin/bash -c '
		cd /root/gpusvm || exit 1
		t=$SECONDS
		make deps || exit 1
		echo $((SECONDS - t)) >/root/t_deps
		t=$SECONDS
		make check
		rc=$?
		echo $((SECONDS - t)) >/root/t_check
		exit $rc' 2>&1 | tee "$FRESH/fresh-check.log" || rc=$?
	fresh_umount "$root"
	trap - EXIT

	t_deps=$(cat "$root/root/t_deps" 2>/dev/null || echo "-")
	t_check=$(cat "$root/root/t_check" 2>/dev/null || echo "-")
	{
		echo "fresh-check of $head$dirty: $([ $rc = 0 ] && echo PASSED || echo "FAILED (rc=$rc)")"
		echo "  debootstrap + clone   ${t_boot} s"
		echo "  make deps             ${t_deps} s"
		echo "  make check            ${t_check} s"
		echo "  total                 $((SECONDS - t0)) s"
		grep -E '^[0-9]+ passed, [0-9]+ failed' "$FRESH/fresh-check.log" | tail -1 | sed 's/^/  /'
	} | tee "$OUT/fresh-check.txt"
	[ $rc = 0 ] || die "make deps + make check failed on a fresh Debian 12 root (log: $FRESH/fresh-check.log, guest logs: $root/root/gpusvm/out/logs/latest)"
}
