#!/usr/bin/env python3
"""openapi-head.py: give every GET of doc/openapi.json its HEAD operation.

vigil-api answers HEAD wherever it answers GET (the same checks, status
and headers, no body), and the document says so with a head operation
beside each get (test_contract's T260 checks it): GET's parameters,
security and x-vigil-scope, its statuses and their headers, no content.
Run it after adding a GET operation (or after a merge that added some);
it adds what is missing and leaves the rest byte for byte.

    python3 scripts/openapi-head.py [--check] [doc/openapi.json]

--check changes nothing and exits 1 when a head operation is missing or
no longer matches its get.
"""

import copy
import json
import os
import sys


def head_of(path, get):
    head = {}
    for k, v in get.items():
        if k == "operationId":
            head[k] = v + "Head"
        elif k == "summary":
            head[k] = v + " (headers only)"
        elif k == "description":
            head[k] = ("`GET " + path + "` without the body: the same checks, "
                       "status and headers (`Content-Length` included where "
                       "GET sends one), counted against the read limit.")
        elif k == "responses":
            head[k] = {st: copy.deepcopy(r) if "$ref" in r else
                       {kk: copy.deepcopy(vv) for kk, vv in r.items()
                        if kk != "content"}
                       for st, r in v.items()}
        else:
            head[k] = copy.deepcopy(v)
    return head


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    path = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "doc",
        "openapi.json")
    with open(path) as f:
        doc = json.load(f)
    changed = []
    for tmpl, item in doc["paths"].items():
        if "get" not in item:
            continue
        want = head_of(tmpl, item["get"])
        if item.get("head") == want:
            continue
        changed.append(tmpl)
        rebuilt = {}
        for k, v in item.items():
            if k == "head":
                continue
            rebuilt[k] = v
            if k == "get":
                rebuilt["head"] = want
        item.clear()
        item.update(rebuilt)
    if check:
        for tmpl in changed:
            print("%s: head operation missing or not GET's" % tmpl)
        return 1 if changed else 0
    if changed:
        with open(path, "w") as f:
            f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print("head operations written for: " + ", ".join(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
