#!/usr/bin/env python3
"""verify_signature.py: check a webhook delivery's two signatures the way a
receiver would, independently of Vigil's C code.

  X-Vigil-Signature  the verify_webhook snippet of the README's "Receiving
                     webhooks", verbatim (the published Python example the
                     signature was made to satisfy: it names no header).
  X-Vigil-Signature-256
                     "sha256=" + hex HMAC-SHA256 of the body: checked the way
                     a receiver written for GitHub's X-Hub-Signature-256 (or
                     an incident-response platform's X-IR-Signature) does it,
                     prefix and all, by verify_sha256_prefixed.
  webhook-signature  the Standard Webhooks symmetric algorithm ("v1,"
                     + base64 HMAC-SHA256 of "id.timestamp.body", any of the
                     space-separated entries may match, timestamp within
                     300 s). The key is the base64 decoding of what follows
                     "whsec_" (missing '=' padding allowed, as the Python
                     reference library does), or, for a secret without that
                     prefix, the secret's own bytes: Vigil's documented rule,
                     so a standard library is given "whsec_" + base64(secret).

Usage:
  verify_signature.py --secret S (--body TEXT | --body-file PATH|-)
      [--vigil-signature HEX] [--signature-256 sha256=HEX]
      [--webhook-id ID --webhook-timestamp TS --webhook-signature SIG
       [--now EPOCH]]

Exit status 0 when every signature given verifies, 1 when one does not,
2 on a usage error. The integration tests can also import verify_webhook
and verify_standard.
"""

import argparse
import base64
import binascii
import sys
import time

# --- the README's verify_webhook, verbatim ---------------------------------
# Python example
import hmac, hashlib

def verify_webhook(body_bytes, signature_header, shared_secret):
    expected = hmac.new(
        shared_secret.encode(),
        body_bytes,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature_header)
# --- end of the README's verify_webhook -----------------------------------

# --- a receiver written for "sha256=<hex>" (GitHub's X-Hub-Signature-256,
# an incident-response platform's X-IR-Signature): it knows nothing of Vigil.
def verify_sha256_prefixed(payload_body, secret_token, signature_header):
    if not signature_header:
        return False
    hash_object = hmac.new(secret_token.encode("utf-8"), msg=payload_body,
                           digestmod=hashlib.sha256)
    expected_signature = "sha256=" + hash_object.hexdigest()
    return hmac.compare_digest(expected_signature, signature_header)
# ---------------------------------------------------------------------------

TOLERANCE = 300
PREFIX = "whsec_"


def standard_key(secret):
    """The Standard Webhooks key bytes for secret (ValueError if empty)."""
    if secret.startswith(PREFIX):
        b64 = secret[len(PREFIX):]
        if not b64:
            raise ValueError("empty secret")
        b64 += "=" * (-len(b64) % 4)
        try:
            key = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise ValueError("whsec_ secret is not base64: %s" % e)
    else:
        key = secret.encode()
    if not key:
        raise ValueError("empty secret")
    return key


def sign_standard(secret, msg_id, timestamp, body_bytes):
    content = ("%s.%s." % (msg_id, timestamp)).encode() + body_bytes
    mac = hmac.new(standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify_standard(body_bytes, msg_id, timestamp, signature_header, secret,
                    now=None):
    """True if the webhook-* headers verify (as the reference libraries)."""
    if not msg_id or not timestamp or not signature_header:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    now = int(time.time()) if now is None else int(now)
    if now - ts > TOLERANCE or ts > now + TOLERANCE:
        return False
    expected = sign_standard(secret, msg_id, ts, body_bytes)
    ok = False
    for entry in signature_header.split(" "):
        if hmac.compare_digest(entry.encode(), expected.encode()):
            ok = True
    return ok


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--secret", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--body")
    src.add_argument("--body-file")
    ap.add_argument("--vigil-signature")
    ap.add_argument("--signature-256")
    ap.add_argument("--webhook-id")
    ap.add_argument("--webhook-timestamp")
    ap.add_argument("--webhook-signature")
    ap.add_argument("--now", type=int)
    a = ap.parse_args(argv)

    if a.body is not None:
        body = a.body.encode()
    elif a.body_file == "-":
        body = sys.stdin.buffer.read()
    else:
        with open(a.body_file, "rb") as f:
            body = f.read()

    standard = (a.webhook_id, a.webhook_timestamp, a.webhook_signature)
    if a.vigil_signature is None and a.signature_256 is None and \
            all(x is None for x in standard):
        ap.error("give --vigil-signature, --signature-256 and/or the "
                 "--webhook-* headers")
    if any(x is None for x in standard) and not all(x is None
                                                    for x in standard):
        ap.error("--webhook-id, --webhook-timestamp and --webhook-signature "
                 "go together")

    ok = True
    if a.vigil_signature is not None:
        v = verify_webhook(body, a.vigil_signature, a.secret)
        print("X-Vigil-Signature: %s" % ("ok" if v else "MISMATCH"))
        ok = ok and v
    if a.signature_256 is not None:
        v = verify_sha256_prefixed(body, a.secret, a.signature_256)
        print("X-Vigil-Signature-256: %s" % ("ok" if v else "MISMATCH"))
        ok = ok and v
    if a.webhook_signature is not None:
        try:
            v = verify_standard(body, a.webhook_id, a.webhook_timestamp,
                                a.webhook_signature, a.secret, a.now)
        except ValueError as e:
            print("webhook-signature: bad secret (%s)" % e)
            v = False
        else:
            print("webhook-signature: %s" % ("ok" if v else "MISMATCH"))
        ok = ok and v
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
