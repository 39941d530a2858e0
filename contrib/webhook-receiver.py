#!/usr/bin/env python3
import argparse, base64, hashlib, hmac, http.server, json, os, time

def verify_webhook(body_bytes, signature_header, shared_secret):
    expected = hmac.new(
        shared_secret.encode(),
        body_bytes,
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature_header)
def verify_sha256(body, header, secret):  # "sha256=<hex>", GitHub's convention
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
def verify_standard(body, h, secret):  # Standard Webhooks, 5 minutes' tolerance
    ts = h.get("webhook-timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False  # too old or in the future: a replay
    key = base64.b64decode(secret[6:] + "==") if secret.startswith("whsec_") else secret.encode()
    signed = f"{h.get('webhook-id', '')}.{ts}.".encode() + body
    mac = b"v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(hmac.compare_digest(mac, s.encode()) for s in h.get("webhook-signature", "").split())

class Receiver(http.server.BaseHTTPRequestHandler):  # logs each request on stderr
    seen = set()  # webhook-id of the events handled: a delivery may come twice
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            ok = (verify_webhook(body, self.headers.get("X-Vigil-Signature", ""), A.secret)
                  and verify_sha256(body, self.headers.get("X-Vigil-Signature-256", ""), A.secret)
                  and verify_standard(body, self.headers, A.secret))
        except (TypeError, ValueError):  # a header that is not ASCII, bad base64
            ok = False
        if ok and self.headers["webhook-id"] not in self.seen:
            self.seen.add(self.headers["webhook-id"])
            print(json.loads(body)["event_type"], self.headers["webhook-id"], flush=True)
        self.send_response(200 if ok else 401)
        self.end_headers()

ap = argparse.ArgumentParser(description="Receive Vigil webhooks on 127.0.0.1.")
ap.add_argument("--port", type=int, default=8000)
ap.add_argument("--secret", default=os.environ.get("VIGIL_WEBHOOK_SECRET"),
                required="VIGIL_WEBHOOK_SECRET" not in os.environ)
A = ap.parse_args()
http.server.ThreadingHTTPServer(("127.0.0.1", A.port), Receiver).serve_forever()
