#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Print the warnings of a Sphinx/kernel-doc log that concern the project.

A warning concerns the project if it names one of the project's files
(Documentation/, drivers/, include/ in the clone), or driver-uapi.rst at or
after the vsvm uAPI section the harness glue appends. Exit status 1 if
there is any; the rest of Documentation/gpu is not ours to fix.
"""

import argparse
import os
import re
import subprocess
import sys

WARN = re.compile(r'warning|error|critical|severe', re.IGNORECASE)
UAPI_RST = 'Documentation/gpu/driver-uapi.rst'


def project_files(root):
    out = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '--',
         'Documentation', 'drivers', 'include'],
        cwd=root, check=True, capture_output=True, text=True).stdout
    return [f for f in out.split() if os.path.isfile(os.path.join(root, f))]


def vsvm_uapi_line(tree):
    try:
        with open(os.path.join(tree, UAPI_RST)) as f:
            for n, line in enumerate(f, 1):
                if line.strip() == '.. _vsvm-uapi:':
                    return n
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--tree', required=True)
    ap.add_argument('log')
    a = ap.parse_args()
    ours = project_files(a.root)
    uapi_from = vsvm_uapi_line(a.tree)
    uapi_re = re.compile(re.escape(UAPI_RST) + r':(\d+)')
    hits = []
    with open(a.log, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if not WARN.search(line):
                continue
            if any(p in line for p in ours):
                hits.append(line)
                continue
            m = uapi_re.search(line)
            if m and uapi_from and int(m.group(1)) >= uapi_from:
                hits.append(line)
    for h in hits:
        print(h.replace(a.tree.rstrip('/') + '/', ''))
    print(f'[harness] {len(hits)} documentation warning(s) in the project\'s files',
          file=sys.stderr)
    return 1 if hits else 0


if __name__ == '__main__':
    sys.exit(main())
