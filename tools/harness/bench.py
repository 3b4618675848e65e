#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Summarise a "make bench" run: tools/vsvm/vsvm-bench.c against lib/test_hmm
and against vsvm (dmirror=1), plus memcpy of the same bytes.

Reads <run>/results.log (sections "### begin bench@<driver>" ...
"### end bench@<driver> rc=N", one per run: the drivers' runs alternate,
several rounds; lines "sample <driver> <workload> <bytes> <rep> <ns>"),
prints a table of medians over every run of a driver with the ratios
vsvm/test_hmm and vsvm/memcpy, then each cell's target, judged against
test_hmm by the median of the rounds' ratios (paired_ratio()), and writes
<out>/bench.json and <out>/bench.png.

Timings under QEMU TCG are noisy and say nothing about real hardware: only
the medians and the ratios within one run mean something.
"""

import argparse
import functools
import json
import os
import re
import statistics
import sys

WORKLOADS = ['migrate_to_dev', 'cpu_fault_back', 'migrate_to_sys',
             'dev_read_sys',
             'dev_write_sys', 'dev_read_sysw', 'dev_write_sysw',
             'dev_read_dev', 'dev_write_dev']
# The same at 64 KiB, one page past a 2 MiB boundary.
UNALIGNED = [w + '@4K' for w in WORKLOADS]
KIB, MIB = 1 << 10, 1 << 20

# Targets (issue 15): the time of vsvm over the reference's, per cell.
# Every cell has one: by default vsvm must be no slower than test_hmm.
# (description, workloads, sizes or None for every size, reference, limit)
TARGETS = [
    ('migrate to device', ['migrate_to_dev'], [2 * MIB, 64 * MIB],
     'test_hmm', 0.5),
    ('migrate to device', ['migrate_to_dev'], [2 * MIB, 64 * MIB],
     'memcpy', 2.0),
    ('CPU fault back', ['cpu_fault_back'], [2 * MIB, 64 * MIB],
     'test_hmm', 0.2),
    ('device access of RAM', ['dev_read_sys', 'dev_write_sys',
                              'dev_read_sysw', 'dev_write_sysw'], None,
     'test_hmm', 1.0),
    ('64 KiB, aligned and not', WORKLOADS + UNALIGNED, [64 * KIB],
     'test_hmm', 1.0),
]
DRIVERS = ['test_hmm', 'vsvm']
SPLAT = re.compile(r'BUG:|WARNING:|Oops|general protection|Kernel panic|'
                   r'KASAN|possible circular|hung_task|soft lockup')


def human(size):
    for unit, shift in (('MiB', 20), ('KiB', 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return '%d %s' % (size >> shift, unit)
    return '%d B' % size


def fmt_us(ns):
    if ns is None:
        return '-'
    us = ns / 1000.0
    return '%.1f' % us if us < 100 else '%.0f' % us


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def parse(path):
    """Return (samples {(driver, workload, size): [ns]}, sections {name:
    [rc of each run, None if it did not end]}, errors, info, faults
    {(driver, workload, size): [(faults, ns, [ns of each FAULT_STAGES] or
    None)]}, pingpong {(mode, size):
    [(turns, migrations, ns)]}, walk {mode: [(faults, ns)]}, peer
    {(strategy, size): [(ns, pages moved)]}, per_run {(driver, workload,
    size): {run: [ns]}})."""
    sections, errors, info, faults = {}, [], [], {}
    pingpong, walk, peer, per_run = {}, {}, {}, {}
    cur = None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('### begin bench@'):
                cur = line[len('### begin bench@'):]
                sections.setdefault(cur, []).append(None)
            elif line.startswith('### end bench@') and cur:
                m = re.search(r'rc=(\d+)', line)
                sections[cur][-1] = int(m.group(1)) if m else -1
                cur = None
            elif cur and line.startswith('sample '):
                parts = line.split()
                if len(parts) != 6:
                    continue
                _, drv, wl, size, _, ns = parts
                # memcpy is timed in both drivers' runs: kept per driver,
                # to compare the state of the machine (see PHASE_SKEW).
                key = ('memcpy@' + drv if wl.startswith('memcpy') else drv,
                       wl, int(size))
                per_run.setdefault(key, {}).setdefault(
                    len(sections[cur]), []).append(int(ns))
            elif cur and line.startswith('info '):
                parts = line.split()
                if len(parts) == 7:
                    info.append({'driver': parts[1], 'what': parts[2],
                                 'bytes': int(parts[3]), 'rep': int(parts[4]),
                                 'dev_pages_after_migrate': int(parts[5]),
                                 'cpu_faults_writing_back': int(parts[6])})
            elif cur and line.startswith('fault '):
                parts = line.split()
                if len(parts) in (7, 7 + len(FAULT_STAGES)):
                    stages = [int(x) for x in parts[7:]] or None
                    faults.setdefault((parts[1], parts[2], int(parts[3])),
                                      []).append((int(parts[5]),
                                                  int(parts[6]), stages))
            elif cur and line.startswith('pingpong '):
                parts = line.split()
                if len(parts) == 8:
                    pingpong.setdefault((parts[2], int(parts[3])), []).append(
                        (int(parts[5]), int(parts[6]), int(parts[7])))
            elif cur and line.startswith('walk '):
                parts = line.split()
                if len(parts) == 7:
                    walk.setdefault(parts[2], []).append((int(parts[5]),
                                                          int(parts[6])))
            elif cur and line.startswith('peer '):
                parts = line.split()
                if len(parts) == 7:
                    peer.setdefault((parts[2], int(parts[3])), []).append(
                        (int(parts[5]), int(parts[6])))
            elif cur and line.startswith('error '):
                errors.append(line)
    samples = {k: [ns for run in sorted(v) for ns in v[run]]
               for k, v in per_run.items()}
    return (samples, sections, errors, info, faults, pingpong, walk, peer,
            per_run)


def section_problems(sections, name):
    """Why the runs of section bench@<name> failed, or []."""
    rcs = sections.get(name)
    if not rcs:
        return ['bench@%s did not run' % name]
    return ['bench@%s%s exited rc=%s' % (
        name, '' if len(rcs) == 1 else ' (run %d of %d)' % (i, len(rcs)),
        'none (it did not end)' if rc is None else rc)
        for i, rc in enumerate(rcs, 1) if rc != 0]


def memcpy_ceiling(samples, size):
    """The fastest CPU copy of @size bytes, by the median of one way in one
    driver's runs (they may see the machine in different states, see
    PHASE_SKEW): (method, its samples)."""
    best = (None, None)
    for (drv, wl, sz), v in samples.items():
        if not drv.startswith('memcpy@') or sz != size or not v:
            continue
        if best[1] is None or statistics.median(v) < statistics.median(best[1]):
            best = (wl, v)
    return best


# Beyond this ratio between the memcpy ceilings of the two drivers' runs
# (each driver's pooled over its rounds) at a size, the machine was not in
# the same state for both (under TCG the time of a copy of warm buffers
# depends on what ran before, most likely through the emulator's software
# TLB: 35 ms to 490 ms for 64 MiB in one boot): that size's vsvm/test_hmm
# ratios are reported but not gated.
PHASE_SKEW = 2.0


def phase_skew(samples, size):
    """(skew, {driver: ceiling ns}) of the memcpy ceilings of the drivers'
    runs at @size; skew None without both."""
    ceil = {}
    for drv in DRIVERS:
        meds = [statistics.median(v) for (d, wl, sz), v in samples.items()
                if d == 'memcpy@' + drv and sz == size and v]
        if meds:
            ceil[drv] = min(meds)
    if len(ceil) != len(DRIVERS) or not min(ceil.values()):
        return None, ceil
    return max(ceil.values()) / min(ceil.values()), ceil


def build(samples):
    sizes = sorted({k[2] for k in samples})
    rows = []
    for wl in WORKLOADS + UNALIGNED:
        for size in sizes:
            med = {}
            n = {}
            for drv in DRIVERS:
                v = samples.get((drv, wl, size))
                med[drv] = statistics.median(v) if v else None
                n[drv] = len(v) if v else 0
            method, mc = memcpy_ceiling(samples, size)
            med['memcpy'] = statistics.median(mc) if mc else None
            n['memcpy'] = len(mc) if mc else 0
            if med['test_hmm'] is None and med['vsvm'] is None:
                continue
            rows.append({
                'workload': wl, 'bytes': size,
                'phase_skew': phase_skew(samples, size)[0],
                'median_ns': med, 'samples': n, 'memcpy_method': method,
                'vsvm_over_test_hmm': ratio(med['vsvm'], med['test_hmm']),
                'vsvm_over_memcpy': ratio(med['vsvm'], med['memcpy']),
                'test_hmm_over_memcpy': ratio(med['test_hmm'], med['memcpy']),
            })
    return rows


def round_ratios(per_run, wl, size):
    """vsvm/test_hmm of each round's medians at (@wl, @size): round k pairs
    test_hmm's k-th run with vsvm's k-th, which ran right after it."""
    runs = {d: per_run.get((d, wl, size), {}) for d in DRIVERS}
    return [ratio(statistics.median(runs['vsvm'][k]),
                  statistics.median(runs['test_hmm'][k]))
            for k in sorted(runs['vsvm'])
            if runs['vsvm'][k] and runs['test_hmm'].get(k)]


def paired_ratio(per_run, wl, size):
    """The median over rounds of round_ratios(), or None with fewer than
    two rounds: a round in which the machine ran one driver's share slowly
    (under TCG a kernel path's time drifts between runs of one boot) then
    moves the gated ratio no more than any other round does, where in the
    medians pooled over every run one slow run of a driver shifts them."""
    rr = [x for x in round_ratios(per_run, wl, size) if x is not None]
    return statistics.median(rr) if len(rr) >= 2 else None


def targets(rows, per_run=None):
    """Every cell's target: one entry per (row, reference), the tightest.
    Against test_hmm the ratio that is met or not is paired_ratio() when
    there are rounds, else the pooled one."""
    out = {}
    med = {(r['workload'], r['bytes']): r['median_ns'] for r in rows}
    for r in rows:
        for ref in ('test_hmm', 'memcpy'):
            key = 'vsvm_over_' + ref
            best = None
            for desc, wls, sizes, tref, limit in TARGETS:
                if tref != ref or r['workload'] not in wls:
                    continue
                if sizes is not None and r['bytes'] not in sizes:
                    continue
                if best is None or limit < best[1]:
                    best = (desc, limit)
            if best is None and ref == 'test_hmm':
                best = ('no slower than test_hmm', 1.0)
            if best is None:
                continue
            fl, batched = floor(r, ref, med)
            x = r[key]
            if ref == 'test_hmm' and per_run:
                x = paired_ratio(per_run, r['workload'], r['bytes']) or x
            out[(r['workload'], r['bytes'], ref)] = {
                'workload': r['workload'], 'bytes': r['bytes'],
                'reference': ref, 'target': best[0], 'limit': best[1],
                'floor': fl, 'floor_batched': batched, 'ratio': x,
                'pooled_ratio': r[key],
                'met': x is not None and x <= best[1],
                # memcpy is the CPU's copy speed, not a driver: reported,
                # not gated (under TCG test_hmm itself is several times it).
                'gated': ref == 'test_hmm' and (
                    r['phase_skew'] is None or r['phase_skew'] <= PHASE_SKEW),
                'phase_skew': r['phase_skew'],
                'test_hmm_over_memcpy': r['test_hmm_over_memcpy'],
            }
    return list(out.values())


# Copies of the buffer's bytes a workload cannot avoid: the CPU fault back
# and the migration back copy them once, a migration twice (into device
# memory, then the ABI's read-back into the caller's second buffer).
COPIES = {'migrate_to_dev': 2, 'cpu_fault_back': 1, 'migrate_to_sys': 1}
# The CPU fault back's target asks vsvm to bring the pages back in far
# fewer, larger migrations than test_hmm's one per faulting page. The
# reference for that batched work is test_hmm's own move of the same pages
# back in one request (HMM_DMIRROR_MIGRATE_TO_SYS: the same core mm calls,
# allocations and copies, without a fault per page): its time over
# test_hmm's fault back is a floor of that cell, measured in the same
# rounds. The target (0.2) lies below it.
BATCHED = {'cpu_fault_back': 'migrate_to_sys'}


def floor(row, ref, med=None):
    """(floor, the batched part or None): the ratio that moving the bytes
    alone costs, and against test_hmm for the workloads of BATCHED at
    least test_hmm's batched time over its own (see BATCHED); @med: the
    medians of every row by (workload, bytes). (None, None) without one."""
    n = COPIES.get(row['workload'])
    mc = row['median_ns'].get('memcpy')
    if not n or not mc:
        return None, None
    if ref == 'memcpy':
        return float(n), None
    th = row['median_ns'].get('test_hmm')
    if not th:
        return None, None
    batched = None
    other = BATCHED.get(row['workload'])
    if other and med and (other, row['bytes']) in med:
        batched = ratio(med[(other, row['bytes'])].get('test_hmm'), th)
    return max(n * mc / th, batched or 0), batched


def gate_of(cell, slack):
    """The ratio above which the cell fails: slack x max(target, floor)."""
    return slack * max(cell['limit'], cell['floor'] or 0)


def print_targets(cells, slack):
    print('Targets. ratio: against test_hmm the median over the rounds of '
          'each round\'s vsvm/test_hmm (the drivers\' runs of a round are '
          'back to back), pooled: over every run as in the table above; '
          'floor: the copies the workload cannot avoid at memcpy speed, '
          'and for %s test_hmm\'s own time for the same pages in one '
          'request (%s) over its time for the cell, if higher' % (
              ' and '.join(BATCHED), ' and '.join(BATCHED.values())))
    print('%-19s %8s %-9s %7s %7s %7s %7s  %s' % ('workload', 'size', 'vs',
                                                   'ratio', 'pooled',
                                                   'target', 'floor',
                                                   'result'))
    for c in cells:
        x = c['ratio']
        if x is None:
            res = 'no data'
        elif c['met']:
            res = 'met'
        elif not c['gated'] and c['reference'] == 'test_hmm':
            res = ('MISSED (runs not comparable: memcpy ceilings %.1fx '
                   'apart; not gated)' % c['phase_skew'])
        elif not c['gated']:
            res = 'MISSED (test_hmm: %s; not gated)' % (
                '-' if c['test_hmm_over_memcpy'] is None
                else '%.1f' % c['test_hmm_over_memcpy'])
        elif c['floor'] and c['limit'] < c['floor'] and x <= c['floor']:
            res = 'MISSED, below its floor: the target is out of reach'
        elif slack <= 0 or x <= gate_of(c, slack):
            res = 'MISSED'
        else:
            res = 'MISSED, over %g x max(target, floor): FAIL' % slack
        p = c['pooled_ratio']
        print('%-19s %8s %-9s %7s %7s %7.2f %7s  %s (%s)' % (
            c['workload'], human(c['bytes']), c['reference'],
            '-' if x is None else '%.2f' % x,
            '-' if p is None else '%.2f' % p, c['limit'],
            '-' if c['floor'] is None else '%.2f' % c['floor'], res,
            c['target']))
    met = sum(c['met'] for c in cells)
    print('targets met: %d of %d' % (met, len(cells)))


def print_missed_per_run(cells, per_run):
    """Each run's medians of the cells compared with test_hmm that missed,
    with round_ratios(): how far the drift between runs goes."""
    lines = []
    for c in cells:
        if c['met'] or c['ratio'] is None or c['reference'] != 'test_hmm':
            continue
        runs = {d: per_run.get((d, c['workload'], c['bytes']), {})
                for d in DRIVERS}
        if max(len(v) for v in runs.values()) < 2:
            continue
        med = {d: [statistics.median(v[k]) for k in sorted(v)]
               for d, v in runs.items()}
        pairs = round_ratios(per_run, c['workload'], c['bytes'])
        lines.append('%-19s %8s: %s; vsvm/test_hmm by round %s' % (
            c['workload'], human(c['bytes']),
            '; '.join('%s %s us' % (d, '/'.join(fmt_us(x) for x in med[d]))
                      for d in DRIVERS),
            '/'.join('-' if x is None else '%.2f' % x for x in pairs)))
    if lines:
        print('missed cells, median of each run (the drivers\' runs alternate):')
        print('\n'.join(lines))


SCALE = re.compile(r'bench: scale ranges=(\d+) insert_ns=(\d+) find_ns=(\d+) '
                   r'invalidate_ns=(\d+) remove_ns=(\d+) find_seq_ns=(\d+)')
META = re.compile(r'bench: metadata backing=(\w+) range_bytes=(\d+) '
                  r'dma_bytes=(\d+) blocks=(\d+) entry_bytes=(\d+)')
SCALE_TREE = re.compile(r'bench: scale_tree ranges=(\d+) tree_find_ns=(\d+)'
                        r'(?: xa_find_ns=(\d+))?')
SCALE_INVAL_BARE = re.compile(r'bench: scale_inval_bare ranges=(\d+) '
                              r'invalidate_ns=(\d+)')
SCALE_OPS = ['insert', 'find', 'invalidate', 'remove', 'find_seq']
# Targets: cost per operation at 1M ranges at most 2x the cost at 1K;
# DMA-address metadata of a THP-backed 2 MiB range at most 64 bytes.
SCALE_LIMIT = 2.0
THP_DMA_BYTES_LIMIT = 64


def parse_kunit_bench(console):
    """The drm_gpusvm_bench suite's lines among the console's."""
    scale, meta = {}, {}
    for ln in console:
        m = SCALE.search(ln)
        if m:
            v = [int(x) for x in m.groups()]
            scale.setdefault(v[0], {}).update(zip(SCALE_OPS, v[1:]))
        m = SCALE_TREE.search(ln)
        if m:
            row = scale.setdefault(int(m.group(1)), {})
            row['tree_find'] = int(m.group(2))
            if m.group(3):
                row['xa_find'] = int(m.group(3))
        m = SCALE_INVAL_BARE.search(ln)
        if m and int(m.group(2)):
            scale.setdefault(int(m.group(1)), {})['inval_bare'] = \
                int(m.group(2))
        m = META.search(ln)
        if m:
            meta[m.group(1)] = {
                'range_bytes': int(m.group(2)),
                'dma_bytes': int(m.group(3)),
                'blocks': int(m.group(4)),
                'entry_bytes': int(m.group(5)),
            }
    return scale, meta


def print_kunit_bench(scale, meta):
    """Tables of the scale and metadata benchmarks, with their targets."""
    cells = []
    scale = {n: v for n, v in scale.items() if all(o in v for o in SCALE_OPS)}
    if scale:
        print('%-12s %10s %10s %10s %10s %12s %14s %12s %15s' % (
            'ranges', *[o + ' ns' for o in SCALE_OPS], 'tree find ns',
            'xa find ns', 'bare inval ns'))
        for n in sorted(scale):
            print('%-12d %10d %10d %10d %10d %12d %14s %12s %15s' % (
                n, *[scale[n][o] for o in SCALE_OPS],
                scale[n].get('tree_find', '-'), scale[n].get('xa_find', '-'),
                scale[n].get('inval_bare', '-')))
        lo, hi = min(scale), max(scale)
        # find_seq is the same lookups in address order: not a target,
        # it shows what of find's growth is locality. tree find and xa
        # find are the same random lookups in one bare interval tree of as
        # many nodes of a range's size, and in one bare XArray of as many
        # entries: the growth the trees pay, and the page index.
        # bare inval is the same invalidations with as many MMU interval
        # notifiers doing nothing and no GPU SVM: the core mm's share.
        tree = ratio(scale[hi].get('tree_find'), scale[lo].get('tree_find'))
        # The bare counterpart of an operation: its growth is the floor of
        # the operation's, and what the operation costs beyond it at
        # either end is our own code's share.
        bare = {'find': ('a bare XArray', 'xa_find'),
                'invalidate': ('bare notifiers', 'inval_bare')}
        for o in SCALE_OPS[:4]:
            x = ratio(scale[hi][o], scale[lo][o])
            met = x is not None and x <= SCALE_LIMIT
            cell = {'workload': 'scale_' + o, 'ratio': x,
                    'limit': SCALE_LIMIT, 'met': met}
            what, key = bare.get(o, (None, None))
            floor = key and ratio(scale[hi].get(key), scale[lo].get(key))
            if floor:
                cell['floor'] = floor
            cells.append(cell)
            ours = None
            if key and all(key in scale[n] for n in (lo, hi)):
                ours = [scale[n][o] - scale[n][key] for n in (lo, hi)]
            print('scale %-10s: cost at %d ranges / at %d: %s, target %.1f: %s%s%s%s' % (
                o, hi, lo, '-' if x is None else '%.2f' % x, SCALE_LIMIT,
                'met' if met else 'MISSED',
                ('; %s grows %.2f, %s %.2f times that'
                 % (what, floor, o, x / floor)) if floor and x else '',
                ('; beyond it %d ns at %d, %d ns at %d' % (ours[0], lo,
                                                          ours[1], hi))
                if ours else '',
                ('; a bare interval tree %.2f' % tree)
                if o == 'find' and tree else ''))
    else:
        print('scale: no result (drm_gpusvm_bench did not run)')
    for backing in sorted(meta):
        m = meta[backing]
        line = ('metadata, 2 MiB range, %s-backed: range %d bytes, DMA '
                'addresses %d bytes (%d entries of %d; %d mapped blocks)' % (
                    backing, m['range_bytes'], m['dma_bytes'],
                    m['dma_bytes'] // max(m['entry_bytes'], 1),
                    m['entry_bytes'], m['blocks']))
        if backing == 'thp':
            met = m['dma_bytes'] <= THP_DMA_BYTES_LIMIT
            cells.append({'workload': 'metadata_thp_dma_bytes',
                          'ratio': m['dma_bytes'],
                          'limit': THP_DMA_BYTES_LIMIT, 'met': met})
            line += ', target %d: %s' % (THP_DMA_BYTES_LIMIT,
                                         'met' if met else 'MISSED')
        print(line)
    return cells


# GPU fault service (issue 15): per fault, by range size.
# The stages vsvm splits a fault's time into, in vsvm-bench's order
# (enum vsvm_fault_stage).
FAULT_STAGES = ['wait', 'gc', 'find', 'migrate', 'pages', 'bind', 'retry']
# (workload, what it is, the test_hmm workload pair giving cold - warm)
FAULT_ROWS = [
    ('dev_read_sys', 'test_hmm ABI READ, in place', True),
    ('gpu_read_sys', 'vsvm uapi read, in place', False),
    ('gpu_read_mig', 'vsvm uapi read, migrating', False),
]


def fault_service(samples, faults):
    """Rows of the GPU fault service table.

    vsvm's own time per fault is the median over repetitions of the time
    its fault handler took (entry to bind, ktime in the guest) divided by
    the faults of that repetition. test_hmm has no such counter: for the
    test_hmm ABI row both drivers also get the cold READ's median minus
    the warm READ's, which is the fault service of one READ (each driver
    faults once per READ of a buffer that is one range). Each stage of
    vsvm's time gets the same median per fault, so the stages of a row
    need not add up to exactly its total."""
    rows = []
    sizes = sorted({k[2] for k in faults})
    for wl, what, pair in FAULT_ROWS:
        for size in sizes:
            v = faults.get(('vsvm', wl, size))
            if not v:
                continue
            per = [ns / c for c, ns, _ in v if c]
            row = {'workload': wl, 'what': what, 'bytes': size,
                   'faults_per_op': statistics.median(c for c, _, _ in v),
                   'vsvm_ns_per_fault': statistics.median(per) if per
                   else None}
            staged = [(c, st) for c, _, st in v if c and st]
            if staged:
                row['vsvm_stage_ns_per_fault'] = {
                    name: statistics.median(st[i] / c for c, st in staged)
                    for i, name in enumerate(FAULT_STAGES)}
            if pair:
                for drv in DRIVERS:
                    cold = samples.get((drv, 'dev_read_sys', size))
                    warm = samples.get((drv, 'dev_read_sysw', size))
                    row[drv + '_cold_minus_warm_ns'] = (
                        statistics.median(cold) - statistics.median(warm)
                        if cold and warm else None)
            rows.append(row)
    return rows


def print_fault_service(rows):
    print('GPU fault service, per fault (vsvm: its handler\'s time in the '
          'guest; cold-warm: READ cold minus warm, from user space)')
    hdr = '%-13s %-29s %8s %7s %13s %15s %15s' % (
        'workload', 'path', 'range', 'faults', 'vsvm us/fault',
        'vsvm cold-warm', 'thmm cold-warm')
    print(hdr)
    print('-' * len(hdr))
    for r in rows:
        print('%-13s %-29s %8s %7g %13s %15s %15s' % (
            r['workload'], r['what'], human(r['bytes']), r['faults_per_op'],
            fmt_us(r['vsvm_ns_per_fault']),
            fmt_us(r.get('vsvm_cold_minus_warm_ns')),
            fmt_us(r.get('test_hmm_cold_minus_warm_ns'))))
    staged = [r for r in rows if r.get('vsvm_stage_ns_per_fault')]
    if not staged:
        return
    print()
    print('vsvm\'s fault time by stage, us per fault (medians): wait = '
          'for the locks, gc = removing unmapped ranges, find = range and '
          'notifier lookup or insertion, pages = hmm_range_fault and DMA '
          'mapping, bind = GPU page table, retry = passes started over')
    hdr = '%-13s %8s' % ('workload', 'range') + ''.join(
        ' %8s' % name for name in FAULT_STAGES) + ' %8s' % 'total'
    print(hdr)
    print('-' * len(hdr))
    for r in staged:
        st = r['vsvm_stage_ns_per_fault']
        print('%-13s %8s' % (r['workload'], human(r['bytes'])) + ''.join(
            ' %8s' % fmt_us(st[name]) for name in FAULT_STAGES) +
            ' %8s' % fmt_us(r['vsvm_ns_per_fault']))


# Thrashing control (issue 16): the CPU/GPU ping-pong, control off and on.
PINGPONG_MIGRATION_DROP = 10.0


def print_pingpong(pp, slack):
    """The ping-pong table and its two targets per size: migrations per
    second at least PINGPONG_MIGRATION_DROP times fewer with control on,
    and less time. Returns (cells, problems): a drop under the target by
    more than @slack, or a run @slack times slower, fails."""
    cells, problems = [], []
    if not pp:
        return cells, ['no ping-pong rows (thrashing control bench)']
    print('CPU/GPU ping-pong for 1 s: the CPU writes a word per page, the '
          'GPU reads the buffer (thrashing control off/on; medians of the '
          'runs; migrations to VRAM)')
    hdr = '%8s %6s %8s %12s %12s %14s' % ('size', 'ctrl', 'turns',
                                            'us/turn', 'migrations',
                                            'migrations/s')
    print(hdr)
    print('-' * len(hdr))
    med = {}
    for (mode, size) in sorted(pp, key=lambda k: (k[1], k[0] != 'off')):
        v = pp[(mode, size)]
        turns = statistics.median(t for t, _, _ in v)
        per = statistics.median(n / t for t, _, n in v if t)
        mig = statistics.median(m for _, m, _ in v)
        rate = statistics.median(m / (n / 1e9) for _, m, n in v if n)
        med[(mode, size)] = (per, mig, rate)
        print('%8s %6s %8g %12s %12g %14.1f' % (human(size), mode, turns,
                                                fmt_us(per), mig, rate))
    for size in sorted({s for _, s in med}):
        off, on = med.get(('off', size)), med.get(('on', size))
        if not off or not on:
            problems.append('ping-pong %s: a mode is missing' % human(size))
            continue
        drop = off[2] / on[2] if on[2] else float('inf')
        faster = on[0] / off[0]
        met_drop = drop >= PINGPONG_MIGRATION_DROP
        met_time = faster < 1.0
        cells += [{'workload': 'pingpong_migrations_drop', 'bytes': size,
                   'ratio': drop, 'limit': PINGPONG_MIGRATION_DROP,
                   'met': met_drop},
                  {'workload': 'pingpong_time_on_over_off', 'bytes': size,
                   'ratio': faster, 'limit': 1.0, 'met': met_time}]
        print('ping-pong %8s: migrations/s off/on %s, target >= %g: %s; '
              'time per turn on/off %.2f, target < 1: %s' % (
                  human(size), 'inf' if drop == float('inf') else
                  '%.1f' % drop, PINGPONG_MIGRATION_DROP,
                  'met' if met_drop else 'MISSED', faster,
                  'met' if met_time else 'MISSED'))
        if slack > 0 and drop < PINGPONG_MIGRATION_DROP / slack:
            problems.append('regression: ping-pong %s: migrations/s drop '
                            '%.1f < %g / %g' % (human(size), drop,
                                                PINGPONG_MIGRATION_DROP, slack))
        if slack > 0 and faster > slack:
            problems.append('regression: ping-pong %s: control on %.2f x '
                            'the time of off' % (human(size), faster))
    return cells, problems


# Access-density prefetch (issue 16): a sequential GPU walk, off and on.
WALK_FAULT_DROP = 8.0


def print_walk(walk, slack):
    """The walk table and its targets: at least WALK_FAULT_DROP times fewer
    GPU faults with prefetch on, and less time. Returns (cells, problems):
    a drop under the target by more than @slack, or a walk @slack times
    slower, fails."""
    if 'off' not in walk or 'on' not in walk:
        return [], ['no GPU walk rows (prefetch bench)']
    print('GPU walk over 64 MiB in 64 KiB steps (256 bytes read per step), '
          '64 KiB ranges, migrating (access-density prefetch off/on at 51%; '
          'medians of the runs)')
    hdr = '%6s %10s %12s' % ('pref', 'faults', 'walk ms')
    print(hdr)
    print('-' * len(hdr))
    med = {}
    for mode in ('off', 'on'):
        v = walk[mode]
        med[mode] = (statistics.median(f for f, _ in v),
                     statistics.median(n for _, n in v))
        print('%6s %10g %12.1f' % (mode, med[mode][0], med[mode][1] / 1e6))
    drop = med['off'][0] / med['on'][0] if med['on'][0] else float('inf')
    faster = med['on'][1] / med['off'][1]
    cells = [{'workload': 'walk_faults_drop', 'ratio': drop,
              'limit': WALK_FAULT_DROP, 'met': drop >= WALK_FAULT_DROP},
             {'workload': 'walk_time_on_over_off', 'ratio': faster,
              'limit': 1.0, 'met': faster < 1.0}]
    print('GPU walk: faults off/on %.1f, target >= %g: %s; time on/off %.2f, '
          'target < 1: %s' % (drop, WALK_FAULT_DROP,
                              'met' if cells[0]['met'] else 'MISSED',
                              faster, 'met' if cells[1]['met'] else 'MISSED'))
    problems = []
    if slack > 0 and drop < WALK_FAULT_DROP / slack:
        problems.append('regression: GPU walk: faults drop %.1f < %g / %g' %
                        (drop, WALK_FAULT_DROP, slack))
    if slack > 0 and faster > slack:
        problems.append('regression: GPU walk: prefetch on %.2f x the time '
                        'of off' % faster)
    return cells, problems


# Two GPUs on one interconnect (issue 17): GPU 1 reading GPU 0's VRAM.
PEER_STRATEGIES = ('in_place', 'via_ram', 'device_to_device')


def print_peer(peer):
    """GPU 1 reading memory in GPU 0's VRAM, per strategy and size (medians
    of the runs), with the time of each migrating strategy over in-place
    access. Returns (rows, problems): a missing strategy, or a
    device-to-device move slower than the two-step path, is a problem."""
    if not peer:
        return [], ['no peer rows (bench@vsvm-link)']
    print('GPU 1 reads memory resident in GPU 0\'s VRAM, GPUs linked '
          '(vsvm link=1; medians; moved = pages into GPU 1\'s VRAM)')
    hdr = '%8s %18s %22s %18s %8s %8s' % (
        'size', 'in place us', 'device-to-device us', 'via RAM us',
        'd2d/inp', 'RAM/d2d')
    print(hdr)
    print('-' * len(hdr))
    rows, problems = [], []
    for size in sorted({k[1] for k in peer}):
        med = {}
        for strat in PEER_STRATEGIES:
            v = peer.get((strat, size))
            if v:
                med[strat] = (statistics.median(n for n, _ in v),
                              statistics.median(m for _, m in v))
            else:
                problems.append('peer %s: no %s samples' % (human(size),
                                                             strat))
        inp, ram = med.get('in_place'), med.get('via_ram')
        d2d = med.get('device_to_device')
        r_d2d = d2d[0] / inp[0] if inp and d2d and inp[0] else None
        r_ram = ram[0] / d2d[0] if ram and d2d and d2d[0] else None
        if r_ram is not None and r_ram < 1.0:
            problems.append('peer %s: device-to-device %.0f us is slower '
                            'than via RAM %.0f us' % (human(size),
                                                      d2d[0] / 1e3,
                                                      ram[0] / 1e3))

        def cell(m):
            return '%s (moved %d)' % (fmt_us(m[0]), m[1]) if m else '-'
        print('%8s %18s %22s %18s %8s %8s' % (
            human(size), cell(inp), cell(d2d), cell(ram),
            '%.1f' % r_d2d if r_d2d else '-',
            '%.1f' % r_ram if r_ram else '-'))
        rows.append({'bytes': size,
                     'in_place_ns': inp[0] if inp else None,
                     'in_place_moved': inp[1] if inp else None,
                     'device_to_device_ns': d2d[0] if d2d else None,
                     'device_to_device_moved': d2d[1] if d2d else None,
                     'via_ram_ns': ram[0] if ram else None,
                     'via_ram_moved': ram[1] if ram else None,
                     'device_to_device_over_in_place': r_d2d,
                     'via_ram_over_device_to_device': r_ram})
    return rows, problems


# Where the time of a profile loop goes, by the object file that defines
# the function a tick landed in (first match wins).
PROFILE_IDLE = re.compile(r'idle|halt|mwait|cpu_startup_entry')
PROFILE_CLASSES = [
    ('helpers (drm_gpusvm, drm_pagemap)',
     re.compile(r'drivers/gpu/drm/drm_(gpusvm|pagemap)\.o$')),
    ('core mm: migrate_device, hmm, rmap', re.compile(
        r'mm/(migrate_device|migrate|hmm|rmap|page_vma_mapped)\.o$')),
    ('core mm: page alloc and free', re.compile(
        r'mm/(page_alloc|mm_init|swap|memcontrol|memremap|vmstat)\.o$|'
        r'mm/internal')),
    ('core mm: faults, page tables', re.compile(
        r'mm/(memory|pgtable-generic|mmap|mprotect|gup|pagewalk|'
        r'huge_memory)\.o$')),
    ('core mm: other', re.compile(r'^mm/')),
    ('TLB flush', re.compile(r'arch/x86/mm/tlb\.o$')),
    ('copy and clear (arch/x86/lib)', re.compile(r'arch/x86/lib/')),
    ('other kernel', re.compile(r'.')),
]


def parse_profiles(path):
    """{name: {'line': [...], 'blob': base64 text, 'rc': int}} of the
    "### begin profile@<name>" sections of results.log."""
    out, cur, data = {}, None, False
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('### begin profile@'):
                cur = line[len('### begin profile@'):]
                out[cur] = {'line': None, 'blob': [], 'rc': None}
                data = False
            elif cur and line.startswith('### end profile@'):
                m = re.search(r'rc=(\d+)', line)
                out[cur]['rc'] = int(m.group(1)) if m else -1
                cur = None
            elif cur and line == '### data':
                data = True
            elif cur and data:
                out[cur]['blob'].append(line)
            elif cur and line.startswith('profile '):
                out[cur]['line'] = line.split()
    return out


@functools.lru_cache(maxsize=None)
def kernel_symbols(build):
    """Sorted [(address, name, object)] of the kernel text, from
    System.map and "nm -A" of the built-in objects (vmlinux.a)."""
    import subprocess
    owner = {}
    try:
        nm = subprocess.run(['nm', '-A', '--defined-only', 'vmlinux.a'],
                            cwd=build, capture_output=True, text=True,
                            check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        nm = ''
    for ln in nm.splitlines():
        parts = ln.split()
        if len(parts) == 3 and parts[1] in 'tTwW':
            obj = parts[0].split(':')[1] if parts[0].count(':') >= 2 else '?'
            owner.setdefault(parts[2], obj)
    syms = []
    with open(os.path.join(build, 'System.map')) as f:
        for ln in f:
            parts = ln.split()
            if len(parts) == 3 and parts[1] in 'tTwW':
                syms.append((int(parts[0], 16), parts[2],
                             owner.get(parts[2], '?')))
    syms.sort()
    return syms


def profile_ok(prof):
    """Whether a profile section ran and has its line and its data."""
    ln = prof['line']
    return prof['rc'] == 0 and ln and len(ln) == 8 and prof['blob']


def analyse_profile(prof, syms, stext):
    """Ticks per function and per class of one profile section."""
    import base64
    import bisect
    import gzip
    import struct
    raw = gzip.decompress(base64.b64decode(''.join(prof['blob'])))
    words = struct.unpack('<%dI' % (len(raw) // 4), raw)
    step, counts = words[0], words[1:]
    addrs = [a for a, _, _ in syms]
    funcs = {}
    for i, n in enumerate(counts):
        if not n:
            continue
        j = bisect.bisect_right(addrs, stext + i * step) - 1
        key = syms[j][1:] if j >= 0 else ('?', '?')
        funcs[key] = funcs.get(key, 0) + n
    classes = {}
    for (name, obj), n in list(funcs.items()):
        # The other vCPU idling: not time of the loop.
        if PROFILE_IDLE.search(name):
            del funcs[(name, obj)]
            continue
        for cls, rx in PROFILE_CLASSES:
            if rx.search(obj):
                classes[cls] = classes.get(cls, 0) + n
                break
    return funcs, classes


def profile_rows(prof, syms, stext, tick_ns):
    """(functions, classes, [(what, ns)]) of one profile section: its time
    in user space, in the driver module (system time outside kernel text)
    and in each class of PROFILE_CLASSES, over the whole loop."""
    uns, sns = (int(x) for x in prof['line'][6:8])
    funcs, classes = analyse_profile(prof, syms, stext)
    text_ns = sum(classes.values()) * tick_ns
    rows = [('user space (memset, touches)', uns),
            ('driver module (not in /proc/profile)', max(sns - text_ns, 0))]
    rows += [(c, classes.get(c, 0) * tick_ns) for c, _ in PROFILE_CLASSES]
    return funcs, classes, rows


# The classes of PROFILE_CLASSES that are the core mm's work.
CORE_MM = re.compile(r'^core mm|^TLB flush')


# Workloads whose work the profile loops isolate: the first loop does what
# the second does and then the workload's step (with its own side effects:
# for cpu_fault_back the CPU's stores and freeing system pages instead of
# device pages at munmap(); for migrate_to_dev the read-back into the
# second buffer, and freeing device pages instead of system pages).
# Keyed by the workload and a size other than the loops' default of 2 MiB
# (the loops' ":<bytes>"): the targets of both sizes are below test_hmm.
# Each: (workload, loop, the loop it extends, what the step is).
STAGE_LOOPS = {
    'migrate_to_dev': ('migrate_to_dev', 'migrate', 'fill',
                       'migration to the device'),
    'cpu_fault_back': ('cpu_fault_back', 'faultback', 'migrate',
                       'CPU fault back'),
    'migrate_to_dev 64 MiB': ('migrate_to_dev', 'migrate:%d' % (64 << 20),
                              'fill:%d' % (64 << 20),
                              'migration to the device'),
    'cpu_fault_back 64 MiB': ('cpu_fault_back', 'faultback:%d' % (64 << 20),
                              'migrate:%d' % (64 << 20), 'CPU fault back'),
}


def stage_attribution(profiles, build):
    """Per workload of STAGE_LOOPS: the difference of its two profile
    loops' time per iteration, class by class, which is the step's time
    attributed. {workload: {'bytes', 'us': {driver: {what: us per step}},
    'core_mm_ns_per_byte': vsvm's core mm time per byte}}, without the
    workloads that lack one of the four loops. The two loops run 10 s
    apart, and under TCG a loop's speed drifts: a difference is only as
    good as its total agrees with the step's timed median."""
    smap = os.path.join(build or '', 'System.map')
    if not build or not os.path.exists(smap):
        return {}
    syms = kernel_symbols(build)
    stext = next((a for a, n, _ in syms if n == '_stext'), None)
    tick_ns = 1e9 / kernel_hz(build)
    out = {}
    for wl, loops in STAGE_LOOPS.items():
        att = {'us': {}}
        for drv in DRIVERS:
            per = {}
            for loop in loops[1:3]:
                prof = profiles.get('%s-%s' % (drv, loop))
                if not prof or not profile_ok(prof):
                    break
                iters = int(prof['line'][4])
                att['bytes'] = int(prof['line'][3])
                _, _, rows = profile_rows(prof, syms, stext, tick_ns)
                per[loop] = {w: v / 1e3 / iters for w, v in rows}
            if len(per) != 2:
                break
            a, b = (per[loop] for loop in loops[1:3])
            att['us'][drv] = {w: a[w] - b[w] for w in a}
        if len(att['us']) != len(DRIVERS):
            continue
        core = sum(v for w, v in att['us']['vsvm'].items()
                   if CORE_MM.search(w))
        att['core_mm_ns_per_byte'] = max(core, 0) * 1e3 / att['bytes']
        out[wl] = att
    return out


def print_stages(stages, rows=()):
    """The tables of stage_attribution(), with the timed medians of @rows
    to judge them by."""
    timed = {(r['workload'], r['bytes']): r['median_ns'] for r in rows}
    for wl, att in stages.items():
        workload, loop, base, what = STAGE_LOOPS[wl]
        print('%s of %s (%s), attributed by the tick profiles: time per '
              'iteration of the "%s" loop minus the "%s" loop, us (ticks '
              'are noisy: a class under ~50 us is noise, and a difference '
              'can come out negative)' % (what, human(att['bytes']),
                                          workload, loop, base))
        print('%-40s %10s %10s' % ('', 'test_hmm', 'vsvm'))
        for w in att['us']['vsvm']:
            print('%-40s %10.1f %10.1f' % (w, att['us']['test_hmm'][w],
                                           att['us']['vsvm'][w]))
        tot = {d: sum(v.values()) for d, v in att['us'].items()}
        print('%-40s %10.1f %10.1f' % ('total', tot['test_hmm'],
                                       tot['vsvm']))
        t = timed.get((workload, att['bytes']))
        if t:
            print('%-40s %10s %10s' % ('timed (median of the table above)',
                                       fmt_us(t['test_hmm']),
                                       fmt_us(t['vsvm'])))
        core = att['core_mm_ns_per_byte'] * att['bytes'] / 1e3
        ours = sum(v for w, v in att['us']['vsvm'].items()
                   if w.startswith('helpers') or
                   w.startswith('driver module'))
        print('vsvm: core mm (migrate_vma, rmap, page allocation, page '
              'tables, TLB) %.0f us, our code (helpers, vsvm.ko) %.0f us'
              % (core, ours))
        if t and t.get('test_hmm') and t.get('vsvm'):
            print('vsvm without our code: %.2fx test_hmm (timed medians, '
                  'our code taken out)' % max(
                      (t['vsvm'] / 1e3 - max(ours, 0)) / (t['test_hmm'] / 1e3),
                      0))
        print()


def kernel_hz(build):
    with open(os.path.join(build, '.config')) as f:
        m = re.search(r'^CONFIG_HZ=(\d+)', f.read(), re.M)
    return int(m.group(1)) if m else 250


def print_profiles(profiles, build):
    """Per profile loop: time per iteration split into user, the driver
    module, and kernel text by class, plus the hottest functions."""
    out = {}
    smap = os.path.join(build or '', 'System.map')
    if not build or not os.path.exists(smap):
        print('profile: no System.map (--build) to resolve ticks')
        return out, ['profile: no System.map']
    syms = kernel_symbols(build)
    stext = next((a for a, n, _ in syms if n == '_stext'), None)
    problems = []
    print('Tick profiles (/proc/profile) of vsvm-bench\'s 10 s loops. An '
          'iteration maps a fresh buffer, fills it (user time, and page '
          'faults and clear_page in the kernel), migrates it with '
          'MIGRATE_TO_DEV (migration and read-back), for faultback writes '
          'every page from the CPU, or for read only reads it from the '
          'device (READ, in place), and unmaps it. Kernel text is split by '
          'the object file of the function hit; "driver module" is the '
          'system time outside kernel text (test_hmm.ko or vsvm.ko).')
    tick_ns = 1e9 / kernel_hz(build)
    for name in sorted(profiles):
        prof = profiles[name]
        ln = prof['line']
        if not profile_ok(prof):
            problems.append('profile@%s failed (rc=%s)' % (name, prof['rc']))
            continue
        size, iters, ns, uns, sns = (int(x) for x in ln[3:8])
        funcs, classes, rows = profile_rows(prof, syms, stext, tick_ns)
        per = 1e3 * iters
        total = sum(v for _, v in rows)
        print('profile %s: %d iterations of %s in %.1f s, %.1f us each; '
              'user %.1f us, system %.1f us; %d busy ticks in kernel text' % (
                  name, iters, human(size), ns / 1e9, ns / per, uns / per,
                  sns / per,
                  sum(classes.values())))
        for what, v in rows:
            print('  %-40s %9.1f us/iter %5.1f%%' % (
                what, v / per, 100.0 * v / total if total else 0))
        top = sorted(funcs.items(), key=lambda kv: -kv[1])[:12]
        print('  hottest: ' + ', '.join('%s (%s) %d' % (n, o, c)
                                         for (n, o), c in top))
        out[name] = {'bytes': size, 'iterations': iters, 'ns': ns,
                     'user_ns': uns,
                     'system_ns': sns,
                     'us_per_iteration': {w: v / per for w, v in rows},
                     'top': [[n, o, c] for (n, o), c in top]}
    return out, problems


def print_profile_diff(profiles, build, top=30):
    """Per profile loop run on both drivers: kernel time per iteration of
    each function, vsvm minus test_hmm, largest differences first. A
    function under a few ticks in total is noise; so is attribution inside
    a function that runs with interrupts off (its ticks land where they are
    enabled again)."""
    smap = os.path.join(build or '', 'System.map')
    if not build or not os.path.exists(smap):
        return
    syms = kernel_symbols(build)
    stext = next((a for a, n, _ in syms if n == '_stext'), None)
    tick_us = 1e6 / kernel_hz(build)
    loops = sorted({n.split('-', 1)[1] for n in profiles if '-' in n})
    for loop in loops:
        per = {}
        for drv in DRIVERS:
            prof = profiles.get('%s-%s' % (drv, loop))
            if not prof or not profile_ok(prof):
                break
            iters = int(prof['line'][4])
            funcs, _ = analyse_profile(prof, syms, stext)
            per[drv] = {k: n * tick_us / iters for k, n in funcs.items()}
        if len(per) != len(DRIVERS):
            continue
        a, b = per['test_hmm'], per['vsvm']
        diff = sorted(set(a) | set(b),
                      key=lambda k: (b.get(k, 0) - a.get(k, 0), k))
        print('profile diff %s: kernel text us/iteration, test_hmm %.1f, '
              'vsvm %.1f' % (loop, sum(a.values()), sum(b.values())))
        print('  %9s %9s %9s  %s' % ('test_hmm', 'vsvm', 'diff', 'function'))
        shown = diff[::-1][:top] + diff[:top // 3][::-1]
        for k in shown:
            x, y = a.get(k, 0), b.get(k, 0)
            print('  %9.2f %9.2f %+9.2f  %s (%s)' % (x, y, y - x, k[0], k[1]))


def log_problems(run, res):
    """The harness steps that failed and the kernel splats of a run, and
    its console lines."""
    with open(res, errors='replace') as f:
        problems = [ln.strip() for ln in f
                    if ln.startswith('### harness:') and 'failed' in ln]
    con = os.path.join(run, 'console.log')
    console = []
    if os.path.exists(con):
        with open(con, errors='replace') as f:
            console = f.read().splitlines()
    problems += ['kernel: ' + ln.strip() for ln in console
                 if SPLAT.search(ln)][:10]
    return problems, console


def profile_only(args, res):
    """make bench BENCH_ONLY=profile: the profiles and their diff only."""
    problems, _ = log_problems(args.run, res)
    profiles = parse_profiles(res)
    _, pproblems = print_profiles(profiles, args.build)
    problems += pproblems
    if not profiles:
        problems.append('no profile ran')
    print()
    print_profile_diff(profiles, args.build)
    stages = stage_attribution(profiles, args.build)
    if stages:
        print()
        print_stages(stages)
    for p in problems:
        print('PROBLEM: ' + p)
    print('logs: %s' % args.run)
    return 1 if problems else 0


def print_table(rows):
    hdr = ('%-19s %8s %12s %12s %10s %9s %10s' %
           ('workload', 'size', 'test_hmm us', 'vsvm us', 'memcpy us',
            'vsvm/thmm', 'vsvm/mcpy'))
    print(hdr)
    print('-' * len(hdr))
    last = None
    for r in rows:
        if last and last != r['workload']:
            print()
        last = r['workload']
        m = r['median_ns']
        a, b = r['vsvm_over_test_hmm'], r['vsvm_over_memcpy']
        print('%-19s %8s %12s %12s %10s %9s %10s' % (
            r['workload'], human(r['bytes']), fmt_us(m['test_hmm']),
            fmt_us(m['vsvm']), fmt_us(m['memcpy']),
            '-' if a is None else '%.2f' % a,
            '-' if b is None else '%.1f' % b))


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(19, 8.5))
    for ax, wl in zip(axes.flat, WORKLOADS):
        rs = [r for r in rows if r['workload'] in (wl, wl + '@4K')]
        xs = range(len(rs))
        w = 0.27
        for i, (name, color) in enumerate((('test_hmm', 'tab:blue'),
                                           ('vsvm', 'tab:orange'),
                                           ('memcpy', 'tab:gray'))):
            ys = [(r['median_ns'][name] or 0) / 1000.0 for r in rs]
            ax.bar([x + (i - 1) * w for x in xs], ys, w, label=name,
                   color=color)
        ax.set_yscale('log')
        ax.set_xticks(list(xs))
        # Tick labels carry the ratio vsvm/test_hmm under the size.
        ax.set_xticklabels(['%s%s\n%s' % (human(r['bytes']),
                                           '@4K' if '@' in r['workload']
                                           else '',
                                         '-' if r['vsvm_over_test_hmm'] is None
                                         else '%.2fx' % r['vsvm_over_test_hmm'])
                            for r in rs])
        ax.set_title(wl)
        ax.set_ylabel('median, us (log)')
    axes.flat[0].legend(loc='upper left', fontsize=8)
    fig.suptitle('make bench: test_hmm ABI, vsvm vs test_hmm vs memcpy '
                 '(QEMU TCG, non-debug kernel; under each size: vsvm/test_hmm)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--run', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--build', help='the bench kernel\'s build directory '
                    '(System.map, vmlinux.a) to resolve the profiles')
    ap.add_argument('--max-ratio', type=float, default=2.0,
                    help='fail when a cell\'s ratio exceeds this many times '
                         'its target (0: only report)')
    ap.add_argument('--only', choices=['profile'],
                    help='the run had only the profile loops')
    args = ap.parse_args()

    res = os.path.join(args.run, 'results.log')
    if not os.path.exists(res):
        print('bench: no results (%s missing)' % res)
        return 1
    if args.only == 'profile':
        return profile_only(args, res)
    (samples, sections, errors, info, faults, pingpong, walk, peer,
     per_run) = parse(res)
    problems = list(errors)
    for drv in DRIVERS:
        problems += section_problems(sections, drv)
    logged, console = log_problems(args.run, res)
    problems += logged
    problems += ['KUnit bench: ' + ln.strip() for ln in console
                 if re.match(r'\s*not ok \d+ ', ln)]
    if os.path.exists(os.path.join(args.run, 'timeout')):
        problems.append('QEMU timed out')

    rows = build(samples)
    print_table(rows)
    profiles = parse_profiles(res)
    stages = stage_attribution(profiles, args.build)
    # How the ceiling was measured: every way of copying, the fastest wins.
    for size in sorted({k[2] for k in samples if k[0].startswith('memcpy@')}):
        pooled = {}
        for (d, wl, sz), v in samples.items():
            if d.startswith('memcpy@') and sz == size:
                pooled.setdefault(wl, []).extend(v)
        ways = sorted((statistics.median(v), wl) for wl, v in pooled.items()
                      if v)
        print('memcpy ceiling %8s: %s' % (human(size), ', '.join(
            '%s %s us' % (wl, fmt_us(ns)) for ns, wl in ways)))
        skew, ceil = phase_skew(samples, size)
        if skew is not None:
            print('%24s per driver: %s; %.1fx apart%s' % (
                '', ', '.join('%s %s us' % (d, fmt_us(ceil[d]))
                              for d in DRIVERS), skew,
                '' if skew <= PHASE_SKEW else
                ' > %g: this size is not gated' % PHASE_SKEW))
    # The targets, and the regression gate: ratios within one boot are
    # stable enough to catch a cell that drifted to twice its target.
    cells = targets(rows, per_run)
    print()
    print_targets(cells, args.max_ratio)
    print_missed_per_run(cells, per_run)
    if stages:
        print()
        print_stages(stages, rows)
    print()
    frows = fault_service(samples, faults)
    if frows:
        print_fault_service(frows)
    else:
        problems.append('no GPU fault service rows (vsvm_fault_time)')
    print()
    scale, meta = parse_kunit_bench(console)
    kcells = print_kunit_bench(scale, meta)
    print()
    pcells, pproblems = print_pingpong(pingpong, args.max_ratio)
    problems += pproblems
    print()
    wcells, wproblems = print_walk(walk, args.max_ratio)
    problems += wproblems
    print()
    problems += section_problems(sections, 'vsvm-link')
    prows, pproblems = print_peer(peer)
    problems += pproblems
    print()
    profs, pproblems = print_profiles(profiles, args.build)
    problems += pproblems
    print()
    print_profile_diff(profiles, args.build, top=12)
    if args.max_ratio > 0:
        for c in cells:
            x, lim = c['ratio'], gate_of(c, args.max_ratio)
            if c['gated'] and x is not None and x > lim:
                problems.append('regression: %s %s: vsvm/%s %.2f > %.2f '
                                '(max(target, floor) x BENCH_MAX_RATIO %g)' % (
                                    c['workload'], human(c['bytes']),
                                    c['reference'], x, lim, args.max_ratio))
    os.makedirs(args.out, exist_ok=True)
    jpath = os.path.join(args.out, 'bench.json')
    ppath = os.path.join(args.out, 'bench.png')
    with open(jpath, 'w') as f:
        json.dump({
            'run': os.path.abspath(args.run),
            'note': 'QEMU TCG timings: compare medians and ratios within '
                    'this run only',
            'unit': 'ns',
            'rows': rows,
            'samples': [{'driver': k[0], 'workload': k[1], 'bytes': k[2],
                         'ns': v} for k, v in sorted(samples.items())],
            'max_ratio': args.max_ratio,
            'targets': cells,
            'scale_ns_per_op': {str(k): v for k, v in sorted(scale.items())},
            'metadata': meta,
            'kunit_bench_targets': kcells,
            'pingpong': [{'mode': k[0], 'bytes': k[1], 'turns': t,
                          'migrations': m, 'ns': n}
                         for k, v in sorted(pingpong.items())
                         for t, m, n in v],
            'pingpong_targets': pcells,
            'walk': {k: [{'faults': f, 'ns': n} for f, n in v]
                     for k, v in walk.items()},
            'walk_targets': wcells,
            'peer': prows,
            'migrations': info,
            'gpu_fault_service': frows,
            'profiles': profs,
            'stage_attribution': stages,
            'problems': problems,
        }, f, indent=1)
    try:
        plot(rows, ppath)
    except ImportError as e:
        problems.append('no plot: %s (apt-get install python3-matplotlib)' % e)
        ppath = None
    print()
    # What the migrations really did: pages in device memory afterwards and
    # CPU faults taken to bring them back (median per driver and size).
    for drv in DRIVERS:
        for size in sorted({i['bytes'] for i in info}):
            v = [i for i in info if i['driver'] == drv and i['bytes'] == size]
            if v:
                print('%-8s %8s: %d/%d pages in device memory after '
                      'migrate_to_dev, %d CPU faults to write them back' % (
                          drv, human(size),
                          statistics.median(i['dev_pages_after_migrate']
                                            for i in v), size // 4096,
                          statistics.median(i['cpu_faults_writing_back']
                                            for i in v)))
    ns = sorted({n for r in rows for n in r['samples'].values() if n})
    print('medians of %s samples per cell, over every run of a driver '
          '(memcpy: of the faster driver\'s runs); ratio > 1: vsvm slower. '
          'QEMU TCG: compare within this boot only.'
          % ('-'.join(str(n) for n in (ns[0], ns[-1])) if ns else 0))
    for p in problems:
        print('PROBLEM: ' + p)
    print('wrote %s' % jpath)
    if ppath:
        print('wrote %s' % ppath)
    print('logs: %s' % args.run)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
