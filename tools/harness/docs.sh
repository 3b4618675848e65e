# SPDX-License-Identifier: GPL-2.0-only
#
# "make docs": the kernel's own Sphinx build of Documentation/gpu with the
# project overlaid. Sourced by tools/harness/run (uses its variables and
# helpers), not run on its own.
#
# The docs are built from a tree of their own, $CACHE/docs-src: a hard-link
# copy of pristine/ (cheap) brought to pristine + overlay by the same
# sync_tree() as the test tree, so a docs build neither waits for nor
# disturbs a kernel build in linux/ (htmldocs writes generated .rst files
# into its source tree). Output goes to $CACHE/build-docs (O=) and is copied
# to out/docs/.

DOCS_SRC=$CACHE/docs-src
DOCS_BUILD=${GPUSVM_DOCS_BUILD:-$CACHE/build-docs}

docs_tree() {
	local ver
	ver=$(pkg_version)
	if [ ! -f "$DOCS_SRC/.gpusvm-version" ] ||
	   [ "$(cat "$DOCS_SRC/.gpusvm-version")" != "$ver" ]; then
		log "creating the docs tree $DOCS_SRC (hard links to pristine/)"
		rm -rf "$DOCS_SRC" "$CACHE/docs-src.list"
		cp -al "$PRISTINE" "$DOCS_SRC"
	fi
	INJECT= sync_tree "$DOCS_SRC" "$CACHE/docs-stage" "$CACHE/docs-src.list"
	# Sphinx builds incrementally and prints the warnings of a document
	# only when it reads it again: make it re-read every page the project
	# provides or changes, so their warnings show up on every run. (Only
	# files of our own; a hard link would touch pristine/.)
	local f
	(cd "$CACHE/docs-stage" && find Documentation -name '*.rst') |
	while read -r f; do
		[ "$(stat -c %h "$DOCS_SRC/$f")" != 1 ] || touch "$DOCS_SRC/$f"
	done
}

cmd_docs() {
	local log_file rc=0 html out_html
	# pristine/ is only read and unpacked under the lock.
	take_lock
	ensure_pristine
	docs_tree
	drop_lock
	mkdir -p "$DOCS_BUILD" "$OUT"
	log_file=$DOCS_BUILD/htmldocs.log
	log "make htmldocs SPHINXDIRS=gpu in $DOCS_BUILD, log: $log_file"
	# Sphinx is single-threaded for most of the run; one job is enough.
	make -C "$DOCS_SRC" O="$DOCS_BUILD" SPHINXDIRS=gpu htmldocs \
		>"$log_file" 2>&1 || rc=$?
	html=$DOCS_BUILD/Documentation/output/gpu
	[ $rc = 0 ] && [ -f "$html/drm-gpusvm.html" ] ||
		{ tail -30 "$log_file" >&2; die "htmldocs failed (rc=$rc), log: $log_file"; }
	log "$(grep -ciE 'warning|error' "$log_file" || true) warning/error lines in total (all of Documentation/gpu)"
	# Warnings that point at the project's files fail the target.
	if ! python3 "$HARNESS/docs_warnings.py" --root "$ROOT" \
		--tree "$DOCS_SRC" "$log_file" >&2; then
		rc=1
	fi
	out_html=$OUT/docs
	rm -rf "$out_html"
	cp -a "$html" "$out_html"
	log "HTML: $out_html/drm-gpusvm.html, $out_html/vsvm.html, $out_html/driver-uapi.html"
	log "      (built in $html)"
	[ $rc = 0 ] || die "documentation warnings in the project's files (above)"
	log "docs clean"
}
