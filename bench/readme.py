#!/usr/bin/env python3
"""bench/readme.py: "make bench-readme". Puts the tables the benchmark
parts wrote (BUILDDIR/bench/results/NAME.md) into README.md, each between
the marker comments <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->,
so that the README's figures are the output of a run, never typed by hand.
A part without a results file leaves its block as it is; a results file
without markers in the README is reported, not added."""

import os
import re
import sys


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    results = os.path.join(builddir, "bench", "results")
    readme = os.path.join(srcdir, "README.md")
    with open(readme) as f:
        text = f.read()
    names = sorted(n[:-3] for n in os.listdir(results)
                   if n.endswith(".md")) if os.path.isdir(results) else []
    if not names:
        print("bench-readme: no results in %s (run make bench first)"
              % results)
        return 1
    for name in names:
        with open(os.path.join(results, name + ".md")) as f:
            table = f.read().strip("\n")
        begin = "<!-- bench:%s:begin -->" % name
        end = "<!-- bench:%s:end -->" % name
        # Markers on lines of their own: the prose that names them (in
        # backquotes, mid-line) is not a block.
        pat = re.compile(r"^" + re.escape(begin) + r"$.*?^" +
                         re.escape(end) + r"$", re.S | re.M)
        if not pat.search(text):
            print("bench-readme: README.md has no %s ... %s block; %s.md "
                  "not used" % (begin, end, name))
            continue
        text = pat.sub(lambda m: begin + "\n" + table + "\n" + end, text,
                       count=1)
        print("bench-readme: README.md's %s block from %s.md" % (name,
                                                                 name))
    with open(readme, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
