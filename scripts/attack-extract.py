#!/usr/bin/env python3
"""attack-extract.py: write data/attack-enterprise.tsv's rows from a
checkout of github.com/mitre/cti.

  scripts/attack-extract.py CTI_CHECKOUT > rows.tsv

Reads every enterprise-attack/attack-pattern/*.json bundle, keeps each
attack-pattern object that is neither revoked nor x_mitre_deprecated, and
prints "id<TAB>name" (its mitre-attack external_id and its own name),
sorted by id. The header of data/attack-enterprise.tsv (version, commit,
MITRE's license) is kept by hand above these rows.
"""

import glob
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = {}
    pattern = os.path.join(sys.argv[1], "enterprise-attack",
                           "attack-pattern", "*.json")
    for path in glob.glob(pattern):
        with open(path, encoding="utf-8") as f:
            bundle = json.load(f)
        for o in bundle.get("objects", []):
            if o.get("type") != "attack-pattern":
                continue
            if o.get("revoked") or o.get("x_mitre_deprecated"):
                continue
            for ref in o.get("external_references", []):
                if ref.get("source_name") == "mitre-attack":
                    out[ref["external_id"]] = o["name"]
    for tid in sorted(out):
        print(tid + "\t" + out[tid])


if __name__ == "__main__":
    main()
