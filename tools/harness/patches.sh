# SPDX-License-Identifier: GPL-2.0-only
#
# "make patches": the project as a git format-patch series against 6.12,
# with a cover letter, in out/patches/. Sourced by tools/harness/run (uses
# its variables and helpers), not run on its own.
#
#   $CACHE/patches-work.git   bare repo: tag v6.12 (pristine/), branch series
#   $CACHE/patches-verify     checkout of v6.12 the series is git am'ed onto
#   $CACHE/build-patches      O= build dir for the verification builds
#   out/patches/              0000-cover-letter.patch, 0001-...patch
#   out/patches-check/        checkpatch.log, build.log of the verification
#
# The split (which file and which glue hunk goes into which patch) is in
# tools/harness/patches.py, the commit messages in tools/harness/series/.
# PATCHES_VERIFY=0 skips the verification, PATCHES_BISECT=0 builds only the
# last patch instead of every one.

PATCHES_GIT=$CACHE/patches-work.git
PATCHES_VERIFY_TREE=$CACHE/patches-verify
PATCHES_BUILD=$CACHE/build-patches

pgit() {
	GIT_AUTHOR_NAME="drm_gpusvm authors" GIT_AUTHOR_EMAIL=gpusvm@example.org \
	GIT_COMMITTER_NAME="drm_gpusvm authors" GIT_COMMITTER_EMAIL=gpusvm@example.org \
		git --git-dir="$PATCHES_GIT" "$@"
}

cmd_patches() {
	local head ver kver out=$OUT/patches chk=$OUT/patches-check n subject
	take_lock
	ensure_pristine
	drop_lock
	ver=$(pkg_version)
	INJECT= KERNEL_FIXES=0 stage_overlay "$CACHE/patches-stage"
	head=$(python3 "$HARNESS/patches.py" --root "$ROOT" --pristine "$PRISTINE" \
		--stage "$CACHE/patches-stage" --git-dir "$PATCHES_GIT" --version "$ver") ||
		die "could not build the series"
	kver=$(pgit log -1 --format=%s v6.12 | sed 's/^Linux //')
	rm -rf "$out"
	pgit format-patch -q --cover-letter --base=v6.12 --thread=shallow \
		-o "$out" v6.12.."$head" >/dev/null
	subject=$(head -1 "$HARNESS/series/cover.txt")
	python3 - "$out"/0000-cover-letter.patch "$HARNESS/series/cover.txt" \
		"$ver" "$kver" <<-'EOF'
		import sys
		path, cover, deb, kver = sys.argv[1:]
		lines = open(cover).read().split('\n')
		subject, body = lines[0], '\n'.join(lines[1:]).strip('\n')
		body = body.replace('@DEBIAN_VERSION@', deb).replace('@KERNEL_VERSION@', kver)
		s = open(path).read()
		assert '*** SUBJECT HERE ***' in s and '*** BLURB HERE ***' in s
		s = s.replace('*** SUBJECT HERE ***', subject).replace('*** BLURB HERE ***', body)
		open(path, 'w').write(s)
		EOF
	n=$(ls "$out" | grep -vc '^0000-')
	log "series of $n patches + cover letter in $out (base: $ver as v6.12)"
	log "  subject: [PATCH 0/$n] $subject"
	[ "${PATCHES_VERIFY:-1}" = 1 ] || return 0
	patches_verify "$out" "$chk" "$head"
}

patches_verify() {
	local out=$1 chk=$2 head=$3 p c key objs rc=0 jobs=${PATCHES_JOBS:-2}
	mkdir -p "$chk"
	: >"$chk/checkpatch.log"
	: >"$chk/build.log"
	# 1. git am onto a fresh checkout of the base.
	if [ ! -d "$PATCHES_VERIFY_TREE/.git" ]; then
		log "checking out v6.12 into $PATCHES_VERIFY_TREE (once)"
		rm -rf "$PATCHES_VERIFY_TREE"
		git clone -q --no-checkout "$PATCHES_GIT" "$PATCHES_VERIFY_TREE"
	fi
	(
		cd "$PATCHES_VERIFY_TREE"
		git am --abort >/dev/null 2>&1 || true
		git fetch -q -f origin 'refs/tags/v6.12:refs/tags/v6.12' \
			'refs/heads/series:refs/remotes/origin/series'
		git -c advice.detachedHead=false checkout -q -f v6.12
		git clean -fdxq
		git -c user.name="drm_gpusvm authors" -c user.email=gpusvm@example.org \
			am -q "$out"/0[0-9][0-9][1-9]-*.patch
	) || die "the series does not apply with git am onto v6.12"
	[ "$(git -C "$PATCHES_VERIFY_TREE" rev-parse 'HEAD^{tree}')" = \
	  "$(pgit rev-parse "$head^{tree}")" ] ||
		die "git am of out/patches does not reproduce the series"
	log "git am onto v6.12: ok, result identical to pristine + overlay"
	# 2. checkpatch --strict on every patch (findings are reported, not fatal).
	for p in "$out"/0[0-9][0-9][1-9]-*.patch; do
		{
			echo "=== $(basename "$p")"
			(cd "$PATCHES_VERIFY_TREE" && scripts/checkpatch.pl --strict \
				--show-types "$p") || true
		} >>"$chk/checkpatch.log" 2>&1
	done
	log "checkpatch --strict ($chk/checkpatch.log):"
	awk '/^=== /{p=$2} /^total:/{print "[harness]   " p ": " $0}' \
		"$chk/checkpatch.log" >&2
	# 3. Build: every patch (bisectability) or only the last, objects only.
	if pgrep -f 'make.*build-test' >/dev/null; then
		log "a test-kernel build is running: building with -j1"
		jobs=1
	fi
	mkdir -p "$PATCHES_BUILD"
	local commits
	if [ "${PATCHES_BISECT:-1}" = 1 ]; then
		commits=$(git -C "$PATCHES_VERIFY_TREE" rev-list --reverse v6.12..HEAD)
	else
		commits=$(git -C "$PATCHES_VERIFY_TREE" rev-parse HEAD)
	fi
	for c in $commits; do
		key=$(git -C "$PATCHES_VERIFY_TREE" log -1 --format=%s "$c")
		objs=$(patch_objects "$key")
		log "build at '$key': ${objs:-nothing to build}"
		[ -n "$objs" ] || continue
		git -C "$PATCHES_VERIFY_TREE" -c advice.detachedHead=false checkout -q -f "$c"
		cp "$BUILD/.config" "$PATCHES_BUILD/.config"
		echo "=== $key: $objs" >>"$chk/build.log"
		if ! pmake olddefconfig >>"$chk/build.log" 2>&1 ||
		   ! pmake -j"$jobs" $objs >>"$chk/build.log" 2>&1; then
			tail -20 "$chk/build.log" >&2
			log "build FAILED at '$key' (log: $chk/build.log)"
			rc=1
		fi
		if [ "$key" = "${key#selftests/}" ]; then :; else
			patch_build_selftests >>"$chk/build.log" 2>&1 ||
				{ log "selftests build FAILED at '$key'"; rc=1; }
		fi
	done
	git -C "$PATCHES_VERIFY_TREE" -c advice.detachedHead=false checkout -q -f "$(echo "$commits" | tail -1)"
	grep -E 'warning:|error:' "$chk/build.log" | sort -u >&2 || true
	[ $rc = 0 ] || die "verification builds failed (log: $chk/build.log)"
	log "builds ok ($chk/build.log)"
}

# What to build at the patch with this subject.
patch_objects() {
	case "$1" in
	drm/pagemap:*) echo drivers/gpu/drm/drm_pagemap.o ;;
	drm/gpusvm:*) echo drivers/gpu/drm/drm_pagemap.o drivers/gpu/drm/drm_gpusvm.o ;;
	drm/tests:*) echo drivers/gpu/drm/ ;;
	drm/vsvm:*|selftests/*|Documentation/*|MAINTAINERS:*)
		echo drivers/gpu/drm/ drivers/gpu/drm/vsvm/ ;;
	esac
}

patch_build_selftests() {
	local d=$PATCHES_VERIFY_TREE/tools/testing/selftests/drm/vsvm t
	pmake headers
	for t in $(sed -n 's/^TEST_GEN_PROGS[[:space:]]*[+:]*=[[:space:]]*//p' "$d/Makefile"); do
		gcc -O2 -Wall -Werror -I"$PATCHES_VERIFY_TREE/tools/testing/selftests" \
			-I"$PATCHES_BUILD/usr/include" -o "$PATCHES_BUILD/$t" "$d/$t.c" -lpthread ||
			return 1
	done
}

pmake() {
	local cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	make -C "$PATCHES_VERIFY_TREE" O="$PATCHES_BUILD" ARCH=x86_64 CC="$cc" HOSTCC="$cc" "$@"
}
