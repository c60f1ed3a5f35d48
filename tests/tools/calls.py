#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Layering checks on C sources.

  calls.py cycles FILE.c...   the file-level call graph (from GNU cflow)
                              has no circle; exit 1 naming the files and
                              the calls of each circle found
  calls.py callers TOP.c FILE.c...
                              the files (of FILE.c...) that call a function
                              of TOP.c, one "FILE: caller -> callee" a line
  calls.py long MAX FILE.c... no function is longer than MAX lines, from
                              its opening brace to its closing one; exit 1
                              listing those that are

A file calls another when one of its functions calls a function defined,
not static, in the other.  Each file is read by cflow on its own, so a
static function never stands for a same-named one elsewhere.
"""

import re
import subprocess
import sys

ROOT = re.compile(r"^(\w+)\(\) <.* at (.+):(\d+)>:?$")
CALL = re.compile(r"^    (\w+)\(\)")


def cflow(args):
    try:
        return subprocess.run(["cflow"] + args, check=True, capture_output=True,
                              text=True).stdout
    except FileNotFoundError:
        sys.exit("calls.py: no cflow in PATH (Debian package cflow: make deps)")


def exported(files):
    """name -> file for every function defined non-static in files."""
    where = {}
    for f in files:
        for line in cflow(["-x", f]).splitlines():
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "*":
                where[parts[0]] = f
    return where


def calls_of(f):
    """(caller, callee) pairs in f, callee not defined in f itself."""
    pairs, caller, local = [], None, set()
    out = cflow(["-A", "-A", "--omit-arguments", "-d", "2", f]).splitlines()
    for line in out:
        m = ROOT.match(line)
        if m:
            local.add(m.group(1))
    for line in out:
        m = ROOT.match(line)
        if m:
            caller = m.group(1)
            continue
        m = CALL.match(line)
        if m and caller and m.group(1) not in local:
            pairs.append((caller, m.group(1)))
    return pairs


def file_graph(files):
    where = exported(files)
    edges = {}
    for f in files:
        for caller, callee in calls_of(f):
            g = where.get(callee)
            if g is not None and g != f:
                edges.setdefault(f, {}).setdefault(g, []).append(
                    "%s -> %s" % (caller, callee))
    return edges


def components(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def cycles(files):
    edges = file_graph(files)
    bad = [c for c in components(sorted(files), edges) if len(c) > 1]
    for comp in bad:
        print("call circle between %s:" % ", ".join(comp))
        for a in comp:
            for b in comp:
                for call in edges.get(a, {}).get(b, []):
                    print("  %s -> %s: %s" % (a, b, call))
    if not bad:
        print("no call circle between %d files" % len(files))
    return 1 if bad else 0


def callers(top, files):
    edges = file_graph([top] + [f for f in files if f != top])
    for f in sorted(edges):
        for call in edges[f].get(top, []):
            print("%s: %s" % (f, call))
    return 0


NAME = re.compile(r"^(\w+)\(")


def long_functions(limit, files):
    found = 0
    for f in files:
        name, start = None, None
        with open(f, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                m = NAME.match(line)
                if m:
                    name = m.group(1)
                elif line.rstrip("\n") == "{" and name:
                    start = n
                elif line.startswith("}") and start:
                    if n - start + 1 > limit:
                        print("%s:%d: %s is %d lines (at most %d)" %
                              (f, start, name, n - start + 1, limit))
                        found += 1
                    name, start = None, None
    return 1 if found else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "cycles":
        return cycles(argv[1:])
    if len(argv) >= 2 and argv[0] == "callers":
        return callers(argv[1], argv[2:])
    if len(argv) >= 3 and argv[0] == "long" and argv[1].isdigit():
        return long_functions(int(argv[1]), argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
