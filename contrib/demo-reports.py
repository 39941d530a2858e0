#!/usr/bin/env python3
"""Ask for every report of a tenant through the API.

    demo-reports.py URL API_KEY [FRAMEWORK]

URL is the API's base (http://127.0.0.1:8080). Sends POST /api/v1/reports
for each type (executive, findings, compliance of FRAMEWORK, default
cis-azure-2.0) in each format (json, csv, html, pdf, xlsx) and prints the
report ids, one a line; vigil-scan --due (cron) generates them. ./dev up
runs it once for the demo tenant; then GET /api/v1/reports lists them and
GET /api/v1/reports/{id}/download gives each file.

Only the standard library; waits as Retry-After says when the key's
writes per minute are spent; exits non-zero with the API's answer on the
first other failure.
"""

import json
import sys
import time
import urllib.error
import urllib.request


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    url, key = argv[1].rstrip("/"), argv[2]
    framework = argv[3] if len(argv) == 4 else "cis-azure-2.0"
    for body in ({"type": "executive"}, {"type": "findings"},
                 {"type": "compliance", "framework": framework}):
        for fmt in ("json", "csv", "html", "pdf", "xlsx"):
            req = urllib.request.Request(
                url + "/api/v1/reports", method="POST",
                data=json.dumps(dict(body, format=fmt)).encode(),
                headers={"X-API-Key": key,
                         "Content-Type": "application/json"})
            for attempt in range(5):
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        print(json.load(r)["report_id"], flush=True)
                    break
                except urllib.error.HTTPError as e:
                    # The key's writes per minute (rate_write_per_min,
                    # 30 by default) may be spent: wait as told.
                    if e.code == 429 and attempt < 4:
                        time.sleep(min(int(e.headers.get("Retry-After") or
                                           "10"), 60))
                        continue
                    sys.stderr.write("POST /api/v1/reports %s: %d %s\n" % (
                        json.dumps(body), e.code, e.read().decode(
                            "utf-8", "replace")))
                    return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
