#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Summarise one harness boot: lint (lint.tap), KUnit (KTAP on the
console), the guest's suites (TAP framed on the second serial port),
kmemleak, and any kernel splat. Prints per-suite counts and the closing
line "N passed, N failed, N skipped"; exits non-zero on any failure.

The gates, each of which fails the run on its own:
  - a suite of tools/harness/suites.list for this mode that did not run, a
    suite that ran but is not listed, a suite without a plan line or with
    fewer results than its plan, a program that did not finish;
  - a failed case, including "not ok ... # TODO";
  - a skip that tools/harness/allowed-skips does not list;
  - a kernel splat on the console, a hung or timed-out guest;
  - kmemleak absent from the kernel, disabled, or a scan that did not run;
    a leaked object, except in the test_hmm section those allocated by
    test_hmm's known unload leak (reported as a NOTE).

In faults mode (make faults) the KUnit suites gate on their boot-time run
only: their re-runs under fault injection may fail cases (an allocation
failure is a legitimate error for a case expecting success), which are
recorded and printed, never counted. Splats, leaks, lost bytes, an
undocumented errno and dma-debug turning itself off fail the run.
"""

import argparse
import fnmatch
import os
import re
import sys

HARNESS = os.path.dirname(os.path.abspath(__file__))
TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(not ok|ok) \d+\s*(?:-\s*)?([^#]*?)\s*(#\s*(\w+).*)?$')
PLAN = re.compile(r'^1\.\.(\d+)')
# Suites the host runs before the boot, as <name>.tap in the run directory.
HOST_SUITES = ('lint', 'harness')

# A line matching one of these on the kernel console fails the run.
SPLATS = [
    r'BUG:', r'WARNING:', r'Oops', r'Kernel panic', r'kernel BUG at',
    r'general protection fault', r'UBSAN:', r'INFO: task .* blocked for',
    r'INFO: possible', r'INFO: trying to register non-static key',
    r'possible recursive locking', r'circular locking dependency',
    r'suspicious RCU usage', r'list_add corruption', r'list_del corruption',
    r'watchdog: BUG: soft lockup', r'rcu: INFO:',
    # kmemleak turning itself off (out of memory for its metadata, or
    # kmemleak=off) would silently stop every leak check after it.
    r'kmemleak: Kernel memory leak detector disabled',
    r'kmemleak: Cannot allocate a kmemleak_object',
    # dma-debug (CONFIG_DMA_API_DEBUG): a report is err_printk() of
    # kernel/dma/debug.c, "DMA-API: <driver> <device>: <what>" inside a WARN
    # (only the first one of a boot is printed), or the overlap warning of
    # its cacheline tracking. Its informational lines ("DMA-API: preallocated
    # 65536 debug entries", "DMA-API: debugging enabled by kernel config")
    # are not reports; dma-debug turning itself off is, as for kmemleak.
    r'DMA-API: \S* \S+: ', r'DMA-API: exceeded \d+ overlapping mappings',
    r'DMA-API: .*disabl', r'DMA-API: .*out of memory',
]
SPLAT_RE = re.compile('|'.join(SPLATS))
DMA_API_ERRORS = re.compile(r'^### harness: dma-api errors (\d+)')
DMA_API_ENOMEM = re.compile(r'DMA-API: .*ENOMEM, dma-debug disabled')
FAULTS_SUITE = 'harness: running vsvm/vsvm_faults_test'
# make faults: one line per sweep, from vsvm_faults_test ("faults: <request>
# <shape>: points=...") and guest-faults.sh ("faults: kunit/<suite> <attr>:
# points=..."), the markers of the KUnit re-runs, and the stack dump of each
# failure injected in them (verbose=2).
SWEEP = re.compile(r'faults: ([^:]+): (\w+=-?\d+.*)$')
SWEEP_FIELD = re.compile(r'(\w+)=(-?\d+)')
KUNIT_FAULTS = re.compile(r'^harness: kunit-faults (\S+) (\S+) n=')
INJECTED = 'FAULT_INJECTION: forcing a failure'
ERRNOS = ('ENOMEM', 'EFAULT', 'EBUSY', 'EIO', 'ENOSPC', 'other')


# 6.12's lib/test_hmm never drops the last reference of its devices on
# unload: each one's name (dev_set_name) and device_private (device_add)
# leak. kmemleak cannot name the caller any more (the module's init code is
# gone), so an object is that bug only if modprobe allocated it during
# module init, through one of those two device-core calls, called from an
# address inside test_hmm's init text (guest-init.sh prints its start).
TEST_HMM_SECTION = 'kmemleak@test_hmm'
TEST_HMM_INIT = re.compile(r'^### harness: test_hmm init text (0x[0-9a-f]+)')
TEST_HMM_INIT_SPAN = 0x1000
TEST_HMM_LEAK_CALLS = ('dev_set_name', 'cdev_device_add')

# A backtrace frame of kmemleak's report ("func+0x1/0x2 [mod]", or a bare
# address once the code is gone), and the allocator frames above the caller
# worth naming.
FRAME = re.compile(r'^\s+(?:\[<[0-9a-f]+>\] )?(\w+)\+0x[0-9a-f]+/0x[0-9a-f]+')
RAW_FRAME = re.compile(r'^\s+(?:\[<[0-9a-f]+>\] )?(0x[0-9a-f]+)\s*$')
ALLOCATOR = re.compile(r'(kmemleak|_*kmalloc|kmem_cache|_*kmem|_*slab|kzalloc|krealloc|'
                       r'_*alloc_|_*kvmalloc|_*vmalloc|_*do_kmalloc|kv?asprintf|kstrdup|'
                       r'kobject_set_name)')


class Tally:
    def __init__(self):
        self.suites = {}      # name -> [passed, failed, skipped]
        self.failures = []    # human-readable failure lines

    def touch(self, suite):
        self.suites.setdefault(suite, [0, 0, 0])

    def add(self, suite, outcome, what=''):
        counts = self.suites.setdefault(suite, [0, 0, 0])
        counts[{'pass': 0, 'fail': 1, 'skip': 2}[outcome]] += 1
        if outcome == 'fail':
            self.failures.append(f'{suite}: {what}')

    def totals(self):
        return [sum(c[i] for c in self.suites.values()) for i in range(3)]


class Suite:
    """What one suite reported: its plan, its results, how it ended."""

    def __init__(self, name):
        self.name = name
        self.plan = None
        self.results = []     # (outcome, case, reason)
        self.finished = True
        self.end_note = ''


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, 'rb') as f:
        data = f.read().decode('utf-8', 'replace')
    return [TS.sub('', l.rstrip('\r\n')) for l in data.split('\n')]


def classify(m):
    """"not ok" is a failure whatever its directive (TODO included); "ok"
    with SKIP is a skip; any other "ok" (XFAIL included) a pass."""
    if m.group(1) == 'not ok':
        return 'fail'
    if (m.group(4) or '').upper() == 'SKIP':
        return 'skip'
    return 'pass'


def directive_text(m):
    return re.sub(r'^#\s*\w+\s*', '', m.group(3) or '').strip()


def parse_kunit(lines):
    """KTAP on the console: a suite is announced by '# Subtest: <name>' at
    indent 4, its plan and its cases follow at indent 4 (parameters of a
    case at indent 8), and its own result closes it at indent 0."""
    suites = {}
    cur = None
    for line in lines:
        stripped = line.lstrip(' ')
        indent = len(line) - len(stripped)
        if indent == 4 and stripped.startswith('# Subtest: '):
            cur = Suite('kunit/' + stripped[len('# Subtest: '):].strip())
            cur.finished = False
            suites[cur.name] = cur
            continue
        if cur is None:
            continue
        if indent == 0 and RESULT.match(stripped):
            cur.finished = True
            cur = None
            continue
        if indent == 4:
            m = PLAN.match(stripped)
            if m and cur.plan is None:
                cur.plan = int(m.group(1))
                continue
            m = RESULT.match(stripped)
            if m:
                cur.results.append((classify(m), m.group(2), directive_text(m)))
    return suites


def parse_sections(lines):
    """Split the results port into [(name, lines, rc)]; rc is None for a
    section that never ended."""
    sections, cur, body = [], None, []
    for line in lines:
        if line.startswith('### begin '):
            if cur is not None:
                sections.append((cur, body, None))
            cur, body = line[len('### begin '):].strip(), []
        elif line.startswith('### end ') and cur:
            rc = re.search(r'rc=(\d+)', line)
            sections.append((cur, body, int(rc.group(1)) if rc else None))
            cur = None
        elif cur is not None:
            body.append(line)
    if cur is not None:
        sections.append((cur, body, None))
    return sections


def parse_tap(name, body, rc):
    suite = Suite(name)
    for line in body:
        m = PLAN.match(line)
        if m and suite.plan is None:
            suite.plan = int(m.group(1))
            continue
        m = RESULT.match(line)
        if m:
            suite.results.append((classify(m), m.group(2), directive_text(m)))
    if rc is None:
        suite.finished = False
    elif rc not in (0, 4):
        # kselftest: 1 when a case failed (counted already), 4 when all
        # skipped; anything else is a crash, a signal or a timeout.
        suite.end_note = f'exited with {rc} ({"timeout" if rc in (124, 143) else "error"})'
    return suite


def read_table(path, nfields, sep=None):
    rows = []
    for line in read_lines(path):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        fields = [f.strip() for f in line.split(sep, nfields - 1)] if sep else \
            line.split(None, nfields - 1)
        if len(fields) != nfields:
            sys.exit(f'{path}: malformed line: {line}')
        rows.append(fields)
    return rows


def required_suites(mode, kunit_filter, selftests=''):
    want = []
    only = selftests.replace(',', ' ').split()
    for name, modes in read_table(os.path.join(HARNESS, 'suites.list'), 2):
        if mode not in modes.split():
            continue
        if mode == 'kunit' and kunit_filter:
            glob = kunit_filter.split('.')[0]
            if not fnmatch.fnmatchcase(name[len('kunit/'):], glob):
                continue
        if mode == 'selftests' and only and name[len('vsvm/'):] not in only:
            continue
        want.append(name)
    return want


def known_suites():
    return {name for name, _ in read_table(os.path.join(HARNESS, 'suites.list'), 2)}


def leak_objects(body):
    """kmemleak's report as one list of lines per object."""
    objects, cur = [], None
    for line in body:
        if line.startswith('unreferenced object'):
            cur = [line]
            objects.append(cur)
        elif cur is not None:
            cur.append(line)
    return objects


def is_test_hmm_leak(obj, init_text):
    """Is this kmemleak object test_hmm's known unload leak?"""
    if init_text is None or not obj[1:] or 'comm "modprobe"' not in obj[1]:
        return False
    frames = []
    for line in obj:
        m = FRAME.match(line) or RAW_FRAME.match(line)
        if m:
            frames.append(m.group(1))
    if 'do_init_module' not in frames:
        return False
    for call, caller in zip(frames, frames[1:]):
        if call in TEST_HMM_LEAK_CALLS and caller.startswith('0x') and \
                init_text <= int(caller, 16) < init_text + TEST_HMM_INIT_SPAN:
            return True
    return False


def leak_site(obj):
    """The caller worth naming: the first frame in a module, else the first
    one below the allocator."""
    frames = [l.strip() for l in obj if FRAME.match(l)]
    return next((f for f in frames if f.endswith(']')), '') or \
        next((f for f in frames if not ALLOCATOR.match(FRAME.match(' ' + f).group(1))), '?')


def check_kmemleak(name, body, rc, problems, notes, init_text):
    if rc != 0:
        what = 'kmemleak is not in this kernel' if rc == 2 else \
            'a scan did not run (kmemleak disabled?)'
        problems.append(f'{name}: {what} (rc={rc}); see results.log')
        return
    leaks = leak_objects(body)
    if name == TEST_HMM_SECTION:
        known = [o for o in leaks if is_test_hmm_leak(o, init_text)]
        if known:
            notes.append(f'{name}: {len(known)} objects leaked by lib/test_hmm on unload '
                         '(6.12 bug: its devices keep their last reference; not counted)')
        leaks = [o for o in leaks if o not in known]
    if leaks:
        problems.append(f'{name}: {len(leaks)} leaked objects (first allocated at '
                        f'{leak_site(leaks[0])}; see results.log)')


def fault_sweeps(results, console, problems):
    """make faults: the table of sweeps, distinct points, errnos, bytes
    lost, the KUnit case failures recorded under injection."""
    by_name = {}
    for line in results:
        m = SWEEP.search(line)
        if m:
            by_name.setdefault(m.group(1).strip(), {}).update(
                (k, int(v)) for k, v in SWEEP_FIELD.findall(m.group(2)))
    sweeps = [(name, f.get('points', 0), f.get('path', 0), f)
              for name, f in by_name.items() if 'points' in f]
    # Distinct call stacks of the failures injected in the KUnit re-runs.
    stacks, recorded, cur, frames, where = set(), {}, None, None, None
    start = next((i for i, l in enumerate(console) if l.startswith('Run /init')), 0)
    for line in console[start:]:
        m = KUNIT_FAULTS.match(line)
        if m:
            where = f'kunit/{m.group(1)} {m.group(2)}'
            continue
        if where and re.match(r'^ {4,}not ok \d+', line):
            recorded[where] = recorded.get(where, 0) + 1
        if INJECTED in line:
            cur, frames = where, []
        elif frames is not None:
            f = FRAME.match(line)
            if f:
                frames.append(f.group(1))
            elif '</TASK>' in line:
                stacks.add((cur, tuple(frames)))
                frames = None
    print()
    print(f'{"fault-injection sweep":44} {"points":>6} {"path":>6} ' +
          ' '.join(f'{e:>6}' for e in ERRNOS) + f' {"lost":>6}')
    total, lost, hist = 0, 0, dict.fromkeys(ERRNOS, 0)
    for name, points, path, f in sweeps:
        total += points
        lost += f.get('lost', 0)
        for e in ERRNOS:
            hist[e] += f.get(e, 0)
        print(f'{name:44} {points:6} {path:6} ' +
              ' '.join(f'{f.get(e, 0):6}' for e in ERRNOS) + f' {f.get("lost", 0):6}')
        if f.get('lost', 0):
            problems.append(f'fault injection: {name}: {f["lost"]} bytes lost')
        if f.get('other', 0):
            problems.append(f'fault injection: {name}: {f["other"]} undocumented errnos')
    print(f'distinct failure points (distinct n-th point per request kind and '
          f'shape, or per KUnit suite and attribute): {total} in {len(sweeps)} sweeps')
    for attr in ('failslab', 'fail_page_alloc'):
        n = len({s for w, s in stacks if w and w.endswith(' ' + attr)})
        print(f'distinct call stacks of the failures injected in the KUnit re-runs '
              f'({attr}, allocations without __GFP_NOWARN, which dump one): {n}')
    print('errnos: ' + ', '.join(f'{e} {hist[e]}' for e in ERRNOS))
    print(f'bytes lost: {lost}')
    for where, n in sorted(recorded.items()):
        print(f'RECORDED (not a failure): {where}: {n} KUnit cases failed under injection')
    if not sweeps:
        problems.append('fault injection: no sweep reported its points')
    state = [l for l in results if l.startswith('### harness: dma-debug disabled after')]
    if state:
        print('dma-debug after the sweeps: ' + ('OFF' if state[-1].endswith(': Y') else 'on'))
    else:
        problems.append('fault injection: the state of dma-debug after the sweeps '
                        'is not reported')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', required=True)
    ap.add_argument('--mode', choices=['check', 'kunit', 'selftests', 'stress', 'fuzz',
                                       'demo', 'coverage', 'faults'],
                    default='check')
    ap.add_argument('--kunit-filter', default='')
    ap.add_argument('--selftests', default='',
                    help='make selftests SELFTESTS=: the programs that ran')
    args = ap.parse_args()

    console = read_lines(os.path.join(args.run, 'console.log'))
    results = read_lines(os.path.join(args.run, 'results.log'))
    config = read_lines(os.path.join(args.run, 'config'))
    tally = Tally()
    problems = []
    notes = []
    suites = {}

    # make faults re-runs the KUnit suites under injection after /init:
    # only their boot-time run counts.
    kunit_lines = console
    if args.mode == 'faults':
        kunit_lines = console[:next((i for i, l in enumerate(console)
                                     if l.startswith('Run /init')), len(console))]
    suites.update(parse_kunit(kunit_lines))
    # Host-side suites: make lint and the summary's own self-test.
    for host in HOST_SUITES:
        path = os.path.join(args.run, host + '.tap')
        if os.path.exists(path):
            suites[host] = parse_tap(host, read_lines(path), 0)
    lint_lines = read_lines(os.path.join(args.run, 'lint.tap'))
    kmemleak_seen = set()
    init_text = next((int(m.group(1), 16) for m in map(TEST_HMM_INIT.match, results) if m),
                     None)
    for name, body, rc in parse_sections(results):
        if name.startswith('kmemleak'):
            kmemleak_seen.add(name)
            check_kmemleak(name, body, rc, problems, notes, init_text)
        elif name == 'gcov':
            # make coverage's counters (tools/harness/coverage.py decodes
            # them): data, not a suite.
            continue
        elif name == 'vsvm-demo':
            print('\n'.join(body))
            if rc != 0:
                problems.append(f'demo exited with {rc}')
        else:
            suites[name] = parse_tap(name, body, rc)

    # Results, plans and endings.
    for s in suites.values():
        tally.touch(s.name)
        for outcome, case, reason in s.results:
            if outcome == 'fail':
                tally.add(s.name, 'fail', case + (f' # {reason}' if reason else ''))
            else:
                tally.add(s.name, outcome, case)
        if s.plan is None:
            tally.add(s.name, 'fail', 'no plan line (1..N): the suite never started')
        elif len(s.results) < s.plan:
            tally.add(s.name, 'fail', f'{s.plan - len(s.results)} of {s.plan} '
                      'planned results missing')
        elif len(s.results) > s.plan:
            tally.add(s.name, 'fail', f'{len(s.results)} results for a plan of {s.plan}')
        if not s.finished:
            tally.add(s.name, 'fail', 'did not finish (crash, hang or timeout)')
        elif s.end_note:
            tally.add(s.name, 'fail', s.end_note)

    # Lint failures with their messages (the "# " lines before the result).
    diag = []
    for line in lint_lines:
        if line.startswith('# '):
            diag.append(line)
        elif line.startswith('not ok'):
            for d in diag[:20]:
                print(f'lint {d}')
            diag = []
        else:
            diag = []

    # The manifest: every suite of the mode ran, nothing ran unlisted.
    if args.mode != 'demo':
        want = required_suites(args.mode, args.kunit_filter, args.selftests)
        for name in want:
            if name.startswith('kmemleak'):
                if name not in kmemleak_seen:
                    problems.append(f'missing suite: {name} (no kmemleak scan)')
            elif name not in suites:
                problems.append(f'missing suite: {name} (tools/harness/suites.list)')
        known = known_suites()
        for name in suites:
            if name not in known:
                problems.append(f'unlisted suite: {name} ran but is not in '
                                'tools/harness/suites.list')
        if args.mode == 'kunit' and not want:
            problems.append(f'KUNIT_FILTER={args.kunit_filter} selects no suite of '
                            'tools/harness/suites.list')
        if args.mode == 'selftests' and not want:
            problems.append(f'SELFTESTS={args.selftests} selects no suite of '
                            'tools/harness/suites.list')

    # Skips: only those of the allow-list.
    allowed = read_table(os.path.join(HARNESS, 'allowed-skips'), 4, sep='|')
    used = [[] for _ in allowed]
    for s in suites.values():
        for outcome, case, reason in s.results:
            if outcome != 'skip':
                continue
            for i, (suite, glob, text, _) in enumerate(allowed):
                if suite == s.name and fnmatch.fnmatchcase(case, glob) and text in reason:
                    used[i].append(case)
                    break
            else:
                tally.add(s.name, 'fail', f'{case}: skipped ({reason or "no reason"}), '
                          'not in tools/harness/allowed-skips')
                tally.suites[s.name][2] -= 1

    # kmemleak must be in the kernel and on.
    if args.mode in ('check', 'selftests', 'stress', 'fuzz', 'kunit', 'coverage', 'faults') and config:
        if 'CONFIG_DEBUG_KMEMLEAK=y' not in config:
            problems.append('kernel built without CONFIG_DEBUG_KMEMLEAK')
        if 'CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y' in config:
            problems.append('kmemleak is off by default in this kernel')

    # dma-debug prints its first report only; its error count tells all.
    if 'CONFIG_DMA_API_DEBUG=y' in config and args.mode != 'demo':
        counts = [int(m.group(1)) for m in map(DMA_API_ERRORS.match, results) if m]
        if not counts:
            problems.append('dma-debug error count not reported by the guest')
        elif counts[-1]:
            problems.append(f'dma-debug counted {counts[-1]} errors (only the first '
                            'is on the console)')

    # The fault-injection suite runs after every other of ours: when fail-nth
    # fails an allocation of dma-debug itself, dma-debug turns itself off,
    # which only the test_hmm peer run after it loses.
    faults = [i for i, l in enumerate(console) if l.startswith(FAULTS_SUITE)]
    span = range(faults[0], next((i for i, l in enumerate(console)
                                  if i > faults[0] and l.startswith('harness: running')),
                                 len(console))) if faults else range(0)
    for i, line in enumerate(console):
        if i in span and DMA_API_ENOMEM.search(line) and args.mode != 'faults':
            notes.append(f'console.log line {i + 1}: {line.strip()}: fault injection '
                         'failed an allocation of dma-debug; the peer run on test_hmm '
                         'after it ran without dma-debug')
        elif SPLAT_RE.search(line):
            problems.append(f'kernel splat: console.log line {i + 1}: {line.strip()}')
    if os.path.exists(os.path.join(args.run, 'timeout')):
        problems.append('guest timed out')
    if not any(l.startswith('### harness: done') for l in results):
        problems.append('guest did not reach the end of /init (hang or panic)')
    for line in results:
        if line.startswith('### harness:') and 'failed' in line:
            problems.append(line[4:])
        if line.startswith('### harness: dma-debug disabled') and line.endswith(': Y'):
            problems.append(line[4:] + ' (a sweep failed an allocation of dma-debug)')
    if args.mode == 'faults':
        fault_sweeps(results, console, problems)

    if args.mode == 'demo':
        for p in dict.fromkeys(problems):
            print(f'PROBLEM: {p}')
        print(f'logs: {args.run}')
        print('demo failed' if problems else 'demo ok')
        return 1 if problems else 0

    print()
    print(f'{"suite":48} {"pass":>6} {"fail":>6} {"skip":>6}')
    for name, (p, f, s) in sorted(tally.suites.items()):
        print(f'{name:48} {p:6} {f:6} {s:6}')
    for (suite, glob, _, why), cases in zip(allowed, used):
        if cases:
            print(f'ALLOWED SKIP: {suite}: {len(cases)} cases ({glob}): {why}')
            for case in cases:
                print(f'  skipped: {case}')
        elif args.mode == 'check':
            notes.append(f'stale entry in tools/harness/allowed-skips: {suite} | {glob}')
    for f in tally.failures:
        print(f'FAILED: {f}')
    for n in notes:
        print(f'NOTE: {n}')
    problems = list(dict.fromkeys(problems))
    for p in problems:
        print(f'PROBLEM: {p}')

    passed, failed, skipped = tally.totals()
    # A splat, a leak, a missing suite or a hung guest fails the run as a
    # whole.
    failed += len(problems)
    print(f'logs: {args.run}')
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
