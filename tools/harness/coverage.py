#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make coverage, host side: turn the guest's gcov counters into a report.

Input: the run directory of a "coverage" boot (tools/harness/run
cmd_coverage): results.log with the section "gcov" (a base64 tar.gz of
/sys/kernel/debug/gcov/**/*.gcda, tools/harness/guest-init.sh gcov_dump),
coverage/data/ with the notes files (.gcno) of the coverage build at their
paths under the build directory, coverage/src/ with our sources as that
build compiled them, and config (the kernel's .config).

It puts each .gcda next to its .gcno, runs lcov (with a gcov of the
compiler that built the kernel) with branch coverage, keeps only our files,
writes the HTML report with genhtml to --out, the uncovered functions and
line ranges per file to --out/uncovered.txt, and prints a table of line and
branch coverage per file. A helper (drm_gpusvm.c, drm_pagemap.c) below the
project's target of 90% of lines gets a NOTE; a low figure never fails.
The exit status is non-zero only if the collection failed.
"""

import argparse
import base64
import binascii
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile

HARNESS = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HARNESS)
import summarize  # noqa: E402

# The helpers and the project's target for each of them (lines).
HELPERS = ('drivers/gpu/drm/drm_gpusvm.c', 'drivers/gpu/drm/drm_pagemap.c')
TARGET = 90.0
GCOV_RC = {1: 'a data file could not be read or archived',
           2: 'the kernel has no /sys/kernel/debug/gcov (CONFIG_GCOV_KERNEL?)',
           3: 'the kernel has no gcov data file'}
B64 = re.compile(r'^[A-Za-z0-9+/=]+$')


class Failed(Exception):
    pass


def log(msg):
    print(f'[coverage] {msg}', file=sys.stderr)


def gcov_section(run):
    """The base64 lines of the guest's gcov section."""
    results = summarize.read_lines(os.path.join(run, 'results.log'))
    found = [(body, rc) for name, body, rc in summarize.parse_sections(results)
             if name == 'gcov']
    if not found:
        raise Failed('the guest sent no gcov section (it did not reach the end of '
                     'the suites; see the summary above and console.log)')
    body, rc = found[-1]
    for line in body:
        if line.startswith('gcov:'):
            log(f'guest: {line}')
    if rc is None:
        raise Failed('the gcov section never ended (guest died while sending it?)')
    if rc != 0:
        raise Failed(f'the guest could not collect the counters (rc={rc}: '
                     f'{GCOV_RC.get(rc, "?")})')
    data = [l.strip() for l in body if B64.match(l.strip())]
    if not data:
        raise Failed('the gcov section holds no data')
    return ''.join(data)


def place_counters(payload, build, data_dir):
    """Unpack the .gcda files next to the snapshot of the .gcno files;
    returns their paths relative to the build directory."""
    try:
        raw = base64.b64decode(payload, validate=True)
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode='r:gz')
        members = tar.getmembers()
    except (binascii.Error, tarfile.TarError, OSError, EOFError) as e:
        raise Failed(f'cannot decode the gcov section: {e}')
    prefix = build.strip('/') + '/'
    placed, foreign = [], []
    for m in members:
        name = os.path.normpath(m.name)
        if not m.isfile() or not name.endswith('.gcda'):
            continue
        if not name.startswith(prefix) or '..' in name.split('/'):
            foreign.append('/' + name)
            continue
        rel = name[len(prefix):]
        dest = os.path.join(data_dir, rel)
        if not os.path.exists(dest[:-len('.gcda')] + '.gcno'):
            foreign.append('/' + name)
            continue
        with open(dest, 'wb') as f:
            f.write(tar.extractfile(m).read())
        placed.append(rel)
    if foreign:
        raise Failed('counters of objects this build did not instrument (a kernel '
                     f'from another build directory than {build}?): '
                     + ', '.join(sorted(foreign)[:5]))
    if not placed:
        raise Failed('the gcov section holds no .gcda file')
    return placed


def config_value(run, sym):
    for line in summarize.read_lines(os.path.join(run, 'config')):
        if line.startswith(sym + '='):
            return line.split('=', 1)[1].strip('"')
    return None


def gcov_tool(run):
    """A gcov of exactly the compiler that built the kernel."""
    cc = config_value(run, 'CONFIG_CC_VERSION_TEXT')
    ver = config_value(run, 'CONFIG_GCC_VERSION')
    if not cc or not ver:
        raise Failed('the kernel .config names no gcc (CONFIG_CC_VERSION_TEXT)')
    want = cc.split(None, 1)[1] if ' ' in cc else cc
    seen = []
    for tool in (f'gcov-{int(ver) // 10000}', 'gcov'):
        path = shutil.which(tool)
        if not path:
            continue
        out = subprocess.run([path, '--version'], capture_output=True, text=True).stdout
        first = out.split('\n')[0]
        have = first.split(None, 1)[1] if ' ' in first else first
        if have == want:
            return path
        seen.append(f'{tool}: {first}')
    raise Failed(f'no gcov of the kernel\'s compiler ({cc}); found: '
                 + ('; '.join(seen) or 'none'))


def lcov(args, logf):
    cmd = list(args)
    logf.write('$ ' + ' '.join(cmd) + '\n')
    logf.flush()
    r = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT)
    if r.returncode:
        raise Failed(f'{cmd[0]} failed (rc={r.returncode}); see {logf.name}')


def rewrite_sources(src_info, dst_info, tree, src_dir):
    """Point the report at the snapshot of our sources (SF: lines)."""
    with open(src_info) as f, open(dst_info, 'w') as g:
        for line in f:
            if line.startswith('SF:' + tree + '/'):
                rel = line[len('SF:' + tree + '/'):].rstrip('\n')
                if os.path.exists(os.path.join(src_dir, rel)):
                    line = f'SF:{src_dir}/{rel}\n'
            g.write(line)


class FileCov:
    def __init__(self, path):
        self.path = path
        self.lines = {}       # line -> count
        self.branches = []    # taken counts (0 for '-')
        self.functions = {}   # name -> [start line, count]

    def pct(self, hit, found):
        return 100.0 * hit / found if found else 100.0

    @property
    def lf(self):
        return len(self.lines)

    @property
    def lh(self):
        return sum(1 for c in self.lines.values() if c > 0)

    @property
    def brf(self):
        return len(self.branches)

    @property
    def brh(self):
        return sum(1 for c in self.branches if c > 0)


def parse_info(path, src_dir):
    files = {}
    cur = None
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            tag, _, val = line.partition(':')
            if tag == 'SF':
                rel = os.path.relpath(val, src_dir)
                cur = files.setdefault(rel, FileCov(rel))
            elif cur is None:
                continue
            elif tag == 'DA':
                ln, cnt = val.split(',')[:2]
                cur.lines[int(ln)] = cur.lines.get(int(ln), 0) + int(cnt)
            elif tag == 'BRDA':
                taken = val.split(',')[3]
                cur.branches.append(0 if taken == '-' else int(taken))
            elif tag == 'FN':
                ln, name = val.split(',', 1)
                cur.functions.setdefault(name, [int(ln), 0])[0] = int(ln)
            elif tag == 'FNDA':
                cnt, name = val.split(',', 1)
                cur.functions.setdefault(name, [0, 0])[1] += int(cnt)
            elif tag == 'end_of_record':
                cur = None
    return files


def enclosing(fc, line):
    """The function a line is in: the last one starting at or before it."""
    best = None
    for name, (start, _) in fc.functions.items():
        if start <= line and (best is None or start > best[0]):
            best = (start, name)
    return best[1] if best else '?'


def uncovered_ranges(fc):
    """[(first, last, instrumented lines, function)] of lines never run, cut
    at any line that ran and where a function starts."""
    ranges, cur = [], None
    for ln in sorted(fc.lines):
        if fc.lines[ln] > 0:
            cur = None
            continue
        func = enclosing(fc, ln)
        if cur and cur[3] == func:
            cur[1], cur[2] = ln, cur[2] + 1
        else:
            cur = [ln, ln, 1, func]
            ranges.append(cur)
    return ranges


def write_uncovered(files, src_dir, run, path):
    with open(path, 'w') as out:
        out.write('# make coverage: what the suites of make check never ran, per file.\n'
                  '# Line ranges list the lines gcov instrumented that never ran, cut at\n'
                  '# every line that did and at every function; then the number of\n'
                  '# instrumented lines in the range, its function, its first line.\n'
                  f'# run: {run}\n')
        for rel in sorted(files):
            fc = files[rel]
            try:
                with open(os.path.join(src_dir, rel), errors='replace') as f:
                    text = f.read().split('\n')
            except OSError:
                text = []
            out.write(f'\n== {rel}: lines {fc.pct(fc.lh, fc.lf):.1f}% ({fc.lh}/{fc.lf}), '
                      f'branches {fc.pct(fc.brh, fc.brf):.1f}% ({fc.brh}/{fc.brf})\n')
            never = sorted((start, name) for name, (start, cnt) in fc.functions.items()
                           if cnt == 0)
            out.write(f'functions never called: {len(never)} of {len(fc.functions)}\n')
            for start, name in never:
                out.write(f'  {start:5}  {name}()\n')
            ranges = uncovered_ranges(fc)
            out.write(f'line ranges never run: {len(ranges)}\n')
            for first, last, n, func in ranges:
                where = f'{first}' if first == last else f'{first}-{last}'
                src = text[first - 1].strip() if first <= len(text) else ''
                if len(src) > 60:
                    src = src[:57] + '...'
                out.write(f'  {where:>11}  {n:3} lines  in {func}()'
                          f'  | {src}\n')


def cell(hit, found):
    pct = 100.0 * hit / found if found else 100.0
    return f'{pct:5.1f}% {f"{hit}/{found}":>11}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', required=True)
    ap.add_argument('--build', required=True, help='realpath of the build directory')
    ap.add_argument('--tree', required=True, help='realpath of the kernel tree')
    ap.add_argument('--out', required=True)
    ap.add_argument('--suites-rc', type=int, default=0)
    a = ap.parse_args()

    cov = os.path.join(a.run, 'coverage')
    data_dir = os.path.join(cov, 'data')
    src_dir = os.path.join(cov, 'src')
    rc = 0
    # A failed collection must not leave the previous report looking current.
    shutil.rmtree(a.out, ignore_errors=True)
    try:
        placed = place_counters(gcov_section(a.run), a.build, data_dir)
        notes = sorted(os.path.relpath(os.path.join(d, f), data_dir)
                       for d, _, fs in os.walk(data_dir) for f in fs
                       if f.endswith('.gcno'))
        have = {p[:-len('.gcda')] for p in placed}
        for n in notes:
            if n[:-len('.gcno')] not in have:
                print(f'NOTE: no counters for {n[:-len(".gcno")]}.o (never loaded?): '
                      'all of its lines count as not run')
        tool = gcov_tool(a.run)
        log(f'{len(placed)} data files; lcov with {tool}')
        rcopt = ['--rc', 'lcov_branch_coverage=1', '--gcov-tool', tool, '--quiet']
        info = {k: os.path.join(cov, k + '.info') for k in
                ('base', 'test', 'all', 'src', 'ours')}
        with open(os.path.join(cov, 'lcov.log'), 'w') as logf:
            # The baseline from the notes files: an object without counters
            # still shows, at 0%.
            lcov(['lcov'] + rcopt + ['--capture', '--initial', '--directory', data_dir,
                                     '--test-name', 'coverage', '-o', info['base']], logf)
            lcov(['lcov'] + rcopt + ['--capture', '--directory', data_dir,
                                     '--test-name', 'coverage', '-o', info['test']], logf)
            lcov(['lcov'] + rcopt + ['-a', info['base'], '-a', info['test'],
                                     '-o', info['all']], logf)
            rewrite_sources(info['all'], info['src'], a.tree, src_dir)
            lcov(['lcov'] + rcopt + ['--extract', info['src'], src_dir + '/*',
                                     '-o', info['ours']], logf)
            os.makedirs(a.out)
            lcov(['genhtml', '--quiet', '--branch-coverage', '--legend',
                  '--title', 'drm_gpusvm, drm_pagemap, vsvm (make coverage)',
                  '--prefix', src_dir, '-o', a.out, info['ours']], logf)
        shutil.copy(info['ours'], os.path.join(a.out, 'coverage.info'))
        files = parse_info(info['ours'], src_dir)
        missing = [h for h in HELPERS if h not in files]
        if missing:
            raise Failed('no coverage data for ' + ', '.join(missing))
        write_uncovered(files, src_dir, a.run, os.path.join(a.out, 'uncovered.txt'))
    except Failed as e:
        print(f'PROBLEM: coverage: {e}')
        print('coverage: collection FAILED')
        return 1

    # The table.
    w = max(len(r) for r in files) + 2
    print()
    print(f'{"file":{w}} {"lines":>18}   {"branches":>18}')
    tot = [0, 0, 0, 0]
    for rel in sorted(files, key=lambda r: (not r.startswith('drivers/gpu/drm/drm_'),
                                            r.startswith('include/'), r)):
        fc = files[rel]
        tot = [tot[0] + fc.lh, tot[1] + fc.lf, tot[2] + fc.brh, tot[3] + fc.brf]
        print(f'{rel:{w}} {cell(fc.lh, fc.lf)}   {cell(fc.brh, fc.brf)}')
    print(f'{"total":{w}} {cell(tot[0], tot[1])}   {cell(tot[2], tot[3])}')
    for h in HELPERS:
        fc = files[h]
        if fc.pct(fc.lh, fc.lf) < TARGET:
            print(f'NOTE: {h}: {fc.pct(fc.lh, fc.lf):.1f}% of lines, below the '
                  f'project\'s target of {TARGET:.0f}% (see uncovered.txt)')
    if a.suites_rc:
        print('NOTE: not every suite passed in this run (summary above); the figures '
              'are those of this run, make check is the gate')
    print(f'report: {os.path.join(a.out, "index.html")}')
    print(f'uncovered: {os.path.join(a.out, "uncovered.txt")}')
    return rc


if __name__ == '__main__':
    sys.exit(main())
