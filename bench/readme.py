#!/usr/bin/env python3
"""bench/readme.py: "make bench-readme". Puts the tables the benchmark
parts wrote (BUILDDIR/bench/results/NAME.md) into README.md, each between
the marker comments <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->,
so that the README's figures are the output of a run, never typed by hand.
A block may also sit in doc/performance.md (the measurements' history);
a table goes into the first of README.md and doc/performance.md that has
its block. A part without a results file leaves its block as it is; a
results file without markers in either file is reported, not added."""

import os
import re
import sys

# Where the blocks may be, relative to the source directory, in the order
# they are looked for.
DOCS = ("README.md", os.path.join("doc", "performance.md"))


def block(name):
    begin = "<!-- bench:%s:begin -->" % name
    end = "<!-- bench:%s:end -->" % name
    # Markers on lines of their own: the prose that names them (in
    # backquotes, mid-line) is not a block.
    pat = re.compile(r"^" + re.escape(begin) + r"$.*?^" +
                     re.escape(end) + r"$", re.S | re.M)
    return begin, end, pat


def main():
    builddir = os.environ.get("VIGIL_BUILDDIR") or os.getcwd()
    srcdir = os.environ.get("VIGIL_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    results = os.path.join(builddir, "bench", "results")
    names = sorted(n[:-3] for n in os.listdir(results)
                   if n.endswith(".md")) if os.path.isdir(results) else []
    if not names:
        print("bench-readme: no results in %s (run make bench first)"
              % results)
        return 1
    texts = {}
    for doc in DOCS:
        path = os.path.join(srcdir, doc)
        if os.path.exists(path):
            with open(path) as f:
                texts[doc] = f.read()
    changed = set()
    for name in names:
        with open(os.path.join(results, name + ".md")) as f:
            table = f.read().strip("\n")
        begin, end, pat = block(name)
        doc = next((d for d in DOCS if d in texts and
                    pat.search(texts[d])), None)
        if doc is None:
            print("bench-readme: neither %s has a %s ... %s block; %s.md "
                  "not used" % (" nor ".join(DOCS), begin, end, name))
            continue
        texts[doc] = pat.sub(lambda m: begin + "\n" + table + "\n" + end,
                             texts[doc], count=1)
        changed.add(doc)
        print("bench-readme: %s's %s block from %s.md" % (doc, name, name))
    for doc in changed:
        with open(os.path.join(srcdir, doc), "w") as f:
            f.write(texts[doc])
    return 0


if __name__ == "__main__":
    sys.exit(main())
