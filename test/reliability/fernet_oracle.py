"""Differential oracle: Python's cryptography.fernet over a batch of (key, token) pairs.

stdin: JSON lines {"key": "<urlsafe base64 Fernet key>", "token": "<token as sent>"}
stdout: one JSON line per input, in order: {"ok": true, "plaintext_b64": "..."} or {"ok": false}
Decrypts without a ttl, as the recipe does: the timestamp is not checked.
"""

import base64
import json
import sys

from cryptography.fernet import Fernet, InvalidToken

for line in sys.stdin:
    case = json.loads(line)
    try:
        plaintext = Fernet(case["key"].encode()).decrypt(case["token"].encode("utf-8", "surrogatepass"))
        out = {"ok": True, "plaintext_b64": base64.b64encode(plaintext).decode()}
    except (InvalidToken, ValueError, TypeError, UnicodeEncodeError):
        out = {"ok": False}
    sys.stdout.write(json.dumps(out) + "\n")
