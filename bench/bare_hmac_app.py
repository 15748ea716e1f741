"""The ceiling for `bench/events.py`: a bare WSGI app that only reads the body and verifies the
Connect HMAC signature (API.md 3.1), the same check the portal's receiver makes, and nothing else.

    gunicorn bench.bare_hmac_app:app   (key from BENCH_HMAC_KEY)
"""

import base64
import hashlib
import hmac
import os

KEY = os.environ.get("BENCH_HMAC_KEY", "").encode("utf-8")
MAX_BYTES = 1024 * 1024


def app(environ, start_response):
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("405 Method Not Allowed", [("Content-Type", "application/json")])
        return [b'{"error": "Only POST is accepted here."}']
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BYTES:
        start_response("413 Payload Too Large", [("Content-Type", "application/json")])
        return [b'{"error": "too large"}']
    body = environ["wsgi.input"].read(length)
    expected = base64.b64encode(hmac.digest(KEY, body, hashlib.sha256))
    signature = environ.get("HTTP_X_DOCUSIGN_SIGNATURE_1", "").encode("ascii", "replace")
    if not hmac.compare_digest(signature, expected):
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"error": "bad signature"}']
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "verified"}']
