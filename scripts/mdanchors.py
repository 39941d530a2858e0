#!/usr/bin/env python3
"""mdanchors.py: fail on a link to a heading that is not there. Reads the
Markdown files named (default: README.md and doc/performance.md under
SRCDIR), and checks every [text](#anchor) and [text](FILE.md#anchor) link
against the GitHub-style anchors of the target file's headings: lower
case, punctuation but '-' and '_' dropped, spaces as '-', and '-1', '-2'
added to a repeated one. Code blocks are skipped. Run by checksrc.sh.
Usage: mdanchors.py SRCDIR [FILE.md ...]"""

import os
import re
import sys

FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1", re.S | re.M)
MDLINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
TAG = re.compile(r"<[^>]+>")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)
LINK = re.compile(r"\]\(([^)\s#]*)#([^)\s]+)\)")


def anchors(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = FENCE.sub("", f.read())
        seen, out = {}, set()
        for m in HEADING.finditer(text):
            # As rendered: a link's text, no HTML tags or emphasis stars.
            title = TAG.sub("", MDLINK.sub(r"\1", m.group(2)))
            slug = re.sub(r"[^\w\- ]", "", title.replace("*", "").lower())
            slug = slug.replace(" ", "-")
            # A repeated one takes the first free -N (github-slugger).
            cand, n = slug, seen.get(slug, 0)
            while cand in out:
                n += 1
                cand = "%s-%d" % (slug, n)
            seen[slug] = n
            out.add(cand)
        cache[path] = out
    return cache[path]


def main(argv):
    top = argv[1] if len(argv) > 1 else "."
    files = argv[2:] or ["README.md", os.path.join("doc", "performance.md")]
    bad = 0
    for name in files:
        path = os.path.join(top, name)
        with open(path, encoding="utf-8") as f:
            text = FENCE.sub("", f.read())
        for m in LINK.finditer(text):
            target, anchor = m.group(1), m.group(2)
            if "://" in target or target.startswith("mailto:"):
                continue
            tpath = os.path.normpath(os.path.join(os.path.dirname(path),
                                                  target)) if target else path
            if not os.path.isfile(tpath):
                print("%s: link to %s#%s: no such file" % (name, target,
                                                             anchor))
                bad += 1
            elif anchor not in anchors(tpath):
                print("%s: link to %s#%s: no such heading" % (
                    name, target or name, anchor))
                bad += 1
    if bad:
        print("mdanchors: %d link(s) above point at no heading" % bad,
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
