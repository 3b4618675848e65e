#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Build the upstream-style patch series of the project as git commits.

Input: the pristine 6.12 tree, the staged overlay (pristine files patched
by tools/harness/glue.patch plus every project file at its tree path, as
tools/harness/run's stage_overlay() makes it), glue.patch and the commit
messages in tools/harness/series/. Output: a branch "series" on top of a
tag "v6.12" (the pristine tree) in a bare repository, built with git
plumbing so pristine/ is only read.

Which file or glue hunk goes into which patch is decided by RULES and
GLUE_RULES below; anything they do not cover is an error, so a new file
in the project cannot silently miss the series. The last commit's tree is
checked against the staged overlay: the series ends exactly where the
harness's tree is.
"""

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import tempfile

# (key, message file, project path patterns), in series order.
SERIES = [
    ('pagemap', '1-pagemap.txt', ['drivers/gpu/drm/drm_pagemap.c',
                                  'include/drm/drm_pagemap.h']),
    ('gpusvm', '2-gpusvm.txt', ['drivers/gpu/drm/drm_gpusvm.c',
                                'include/drm/drm_gpusvm.h']),
    ('tests', '3-tests.txt', ['drivers/gpu/drm/tests/*']),
    ('vsvm', '4-vsvm.txt', ['drivers/gpu/drm/vsvm/*',
                            'include/uapi/drm/vsvm_drm.h']),
    ('selftests', '5-selftests.txt', ['tools/testing/selftests/drm/vsvm/*']),
    ('docs', '6-docs.txt', ['Documentation/*']),
    ('maintainers', '7-maintainers.txt', []),
]
KEYS = [k for k, _, _ in SERIES]

# Glue hunks: (file pattern, regexp on the hunk's added lines or None, key).
GLUE_RULES = [
    ('Documentation/*', None, 'docs'),
    ('drivers/gpu/drm/Kconfig', r'Kconfig\.gpusvm', 'gpusvm'),
    ('drivers/gpu/drm/Makefile', r'drm_gpusvm_helper', 'gpusvm'),
    ('drivers/gpu/drm/Makefile', r'vsvm/', 'vsvm'),
    ('drivers/gpu/drm/tests/Makefile', r'GPUSVM_KUNIT_TEST', 'tests'),
]

KCONFIG = 'drivers/gpu/drm/Kconfig.gpusvm'
AUTHOR = ('drm_gpusvm authors', 'gpusvm@example.org')


def die(msg):
    print(f'[patches] error: {msg}', file=sys.stderr)
    sys.exit(1)


class Git:
    def __init__(self, git_dir):
        self.git_dir = git_dir
        self.env = dict(os.environ,
                        GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1],
                        GIT_COMMITTER_NAME=AUTHOR[0],
                        GIT_COMMITTER_EMAIL=AUTHOR[1])
        for k in ('GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE'):
            self.env.pop(k, None)

    def __call__(self, *args, inp=None, env=None, binary=False):
        e = dict(self.env, **(env or {}))
        r = subprocess.run(['git', '--git-dir', self.git_dir] + list(args),
                           input=inp, env=e, capture_output=True,
                           text=not binary)
        if r.returncode:
            die(f'git {" ".join(args[:3])}: {r.stderr}')
        return r.stdout


def ensure_base(git, pristine, version):
    """Tag v6.12 = the pristine tree, imported once per Debian version."""
    if not os.path.isdir(git.git_dir):
        subprocess.run(['git', 'init', '-q', '--bare', git.git_dir], check=True)
    stamp = os.path.join(git.git_dir, 'gpusvm-base-version')
    have = open(stamp).read().strip() if os.path.exists(stamp) else None
    if have == version:
        return
    print(f'[patches] importing the pristine tree ({version}) as v6.12',
          file=sys.stderr)
    index = os.path.join(git.git_dir, 'base.index')
    if os.path.exists(index):
        os.unlink(index)
    env = {'GIT_INDEX_FILE': index, 'GIT_WORK_TREE': pristine}
    # -f: the tarball may hold files the kernel's .gitignore names.
    git('add', '-A', '-f', '--', '.', ':(exclude).gpusvm-version', env=env)
    tree = git('write-tree', env=env).strip()
    kver = kernel_version(pristine)
    msg = (f'Linux {kver}\n\nDebian linux-source-6.12 {version}, imported '
           f'as the base of the series.\n')
    commit = git('commit-tree', tree, '-m', msg,
                 env={'GIT_AUTHOR_DATE': '2026-01-01T00:00:00Z',
                      'GIT_COMMITTER_DATE': '2026-01-01T00:00:00Z'}).strip()
    git('tag', '-f', 'v6.12', commit)
    os.unlink(index)
    with open(stamp, 'w') as f:
        f.write(version + '\n')


def kernel_version(tree):
    v = {}
    with open(os.path.join(tree, 'Makefile')) as f:
        for line in f:
            m = re.match(r'^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)', line)
            if m:
                v[m.group(1)] = m.group(2)
            if len(v) == 3:
                break
    return f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL']}"


def parse_glue(path):
    """[(file, header lines, [hunk lines...])] of a unified diff."""
    files = []
    cur = None
    hunk = None
    with open(path) as f:
        for line in f:
            if line.startswith('diff '):
                cur = None
                continue
            if line.startswith('--- '):
                cur = [None, [line], []]
                continue
            if line.startswith('+++ ') and cur is not None:
                cur[0] = re.sub(r'^\+\+\+ b/', '', line.split('\t')[0].rstrip('\n'))
                cur[1].append(line)
                files.append(cur)
                continue
            if line.startswith('@@'):
                hunk = [line]
                cur[2].append(hunk)
                continue
            if hunk is not None:
                hunk.append(line)
    return files


def glue_key(fname, hunk):
    added = ''.join(l[1:] for l in hunk[1:] if l.startswith('+'))
    for pat, rx, key in GLUE_RULES:
        if fnmatch.fnmatch(fname, pat) and (rx is None or re.search(rx, added)):
            return key
    die(f'no patch for the glue hunk of {fname}:\n{"".join(hunk)}'
        f'(add a rule to GLUE_RULES in tools/harness/patches.py)')


def apply_hunks(pristine, fname, header, hunks):
    """Content of pristine/fname with the given hunks of glue.patch applied."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, os.path.dirname(fname)), exist_ok=True)
        with open(os.path.join(pristine, fname), 'rb') as f:
            data = f.read()
        with open(os.path.join(d, fname), 'wb') as f:
            f.write(data)
        if hunks:
            diff = ''.join(header) + ''.join(''.join(h) for h in hunks)
            r = subprocess.run(['patch', '-s', '-p1', '--no-backup-if-mismatch',
                                '-F0', '-d', d], input=diff, text=True,
                               capture_output=True)
            if r.returncode:
                die(f'glue hunks do not apply to {fname}: {r.stdout}{r.stderr}')
        with open(os.path.join(d, fname), 'rb') as f:
            return f.read()


def split_kconfig(text):
    """Kconfig.gpusvm as of the gpusvm, tests and vsvm patches."""
    lines = text.splitlines(keepends=True)

    def idx(rx):
        for i, l in enumerate(lines):
            if re.match(rx, l):
                return i
        die(f'{KCONFIG}: no line matching {rx!r}; update split_kconfig()')

    t = idx(r'config DRM_GPUSVM_KUNIT_TEST\b')
    s = idx(r'source "drivers/gpu/drm/vsvm/Kconfig"')
    if not 0 < t < s:
        die(f'{KCONFIG}: unexpected order of entries; update split_kconfig()')

    def part(n):
        body = ''.join(lines[:n]).rstrip('\n') + '\n'
        return body.encode()
    return {'gpusvm': part(t), 'tests': part(s), 'vsvm': text.encode()}


def maintainers_with(pristine_text, entries_text):
    """Insert each entry of entries_text into MAINTAINERS.

    MAINTAINERS is sorted by section title, but not strictly; an entry goes
    before the first section with the same first word (DRM ...) whose title
    sorts after it, or after the last such section.
    """
    entries = [e.strip('\n') + '\n' for e in re.split(r'\n\s*\n', entries_text)
               if e.strip()]
    lines = pristine_text.splitlines(keepends=True)

    def titles():
        for i in range(1, len(lines) - 1):
            if (lines[i].strip() and not lines[i - 1].strip() and
                    not re.match(r'^[A-Z]:\t', lines[i]) and
                    re.match(r'^[A-Z]:\t', lines[i + 1])):
                yield i, lines[i].rstrip('\n')

    for e in entries:
        title = e.splitlines()[0]
        word = title.split()[0]
        secs = [(i, t) for i, t in titles() if t.split()[0] == word]
        if not secs:
            die(f'MAINTAINERS: no {word} section to put {title} next to')
        pos = next((i for i, t in secs if t.upper() > title.upper()), None)
        if pos is None:
            last = secs[-1][0]
            pos = next((i for i, _ in titles() if i > last), len(lines))
        lines[pos:pos] = [e, '\n']
    return ''.join(lines).encode('utf-8')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--pristine', required=True)
    ap.add_argument('--stage', required=True)
    ap.add_argument('--git-dir', required=True)
    ap.add_argument('--version', required=True)
    a = ap.parse_args()
    git = Git(a.git_dir)
    series_dir = os.path.join(a.root, 'tools/harness/series')
    ensure_base(git, a.pristine, a.version)

    # Final content of every file: the staged overlay.
    staged = {}
    for d, _, fs in os.walk(a.stage):
        for f in fs:
            p = os.path.relpath(os.path.join(d, f), a.stage)
            with open(os.path.join(d, f), 'rb') as fh:
                staged[p] = fh.read()

    glue = parse_glue(os.path.join(a.root, 'tools/harness/glue.patch'))
    glue_files = {g[0] for g in glue}

    # contents[key] = {path: bytes} set by that patch (cumulative per file).
    contents = {k: {} for k in KEYS}
    for path in sorted(staged):
        if path in glue_files or path == KCONFIG:
            continue
        keys = [k for k, _, pats in SERIES
                if any(fnmatch.fnmatch(path, p) for p in pats)]
        if len(keys) != 1:
            die(f'{path}: matches patches {keys or "none"}; fix SERIES in '
                f'tools/harness/patches.py')
        contents[keys[0]][path] = staged[path]

    for k, part in split_kconfig(staged[KCONFIG].decode()).items():
        contents[k][KCONFIG] = part

    for fname, header, hunks in glue:
        keyed = [(glue_key(fname, h), h) for h in hunks]
        for i, k in enumerate(KEYS):
            mine = [h for kk, h in keyed if kk == k]
            if not mine:
                continue
            upto = [h for kk, h in keyed if KEYS.index(kk) <= i]
            contents[k][fname] = apply_hunks(a.pristine, fname, header, upto)

    with open(os.path.join(a.pristine, 'MAINTAINERS'), encoding='utf-8') as f:
        maint = f.read()
    with open(os.path.join(a.root, 'MAINTAINERS'), encoding='utf-8') as f:
        contents['maintainers']['MAINTAINERS'] = maintainers_with(maint, f.read())

    # Commits, on an index of their own.
    index = os.path.join(a.git_dir, 'series.index')
    env = {'GIT_INDEX_FILE': index}
    git('read-tree', 'v6.12', env=env)
    parent = git('rev-parse', 'v6.12^{commit}').strip()
    signoff = f'Signed-off-by: {AUTHOR[0]} <{AUTHOR[1]}>'
    for key, msgfile, _ in SERIES:
        if not contents[key]:
            die(f'patch {key} would be empty')
        for path, data in sorted(contents[key].items()):
            sha = git('hash-object', '-w', '--stdin', inp=data, binary=True)
            sha = sha.decode().strip()
            mode = '100755' if path in staged and os.access(
                os.path.join(a.stage, path), os.X_OK) else '100644'
            git('update-index', '--add', '--cacheinfo',
                f'{mode},{sha},{path}', env=env)
        with open(os.path.join(series_dir, msgfile)) as f:
            msg = f.read().rstrip('\n') + '\n\n' + signoff + '\n'
        tree = git('write-tree', env=env).strip()
        parent = git('commit-tree', tree, '-p', parent, '-m', msg).strip()
    git('update-ref', 'refs/heads/series', parent)
    os.unlink(index)

    # The series must end where the harness's tree is.
    bad = []
    for path, data in staged.items():
        got = git('cat-file', 'blob', f'{parent}:{path}', binary=True)
        if got != data:
            bad.append(path)
    if bad:
        die('the series does not end at the staged overlay: ' + ', '.join(bad))
    print(parent)


if __name__ == '__main__':
    main()
