#!/usr/bin/env python3
"""Checks the log of test_secrets (its stdout and stderr, IOTSEC_LOG=trace) for secrets: the
key in any encoding, the signature of every SAS token the session may have signed (every
expiry from its start to its end plus the token lifetime), the fixed token, the other key.
Prints TAP-style lines like the C tests.

usage: check_secrets.py LOG CONNECTION_STRING FIXED_TOKEN OTHER_KEY
       check_secrets.py fixed-token CONNECTION_STRING   (an expired SAS token for that device)
       check_secrets.py other-key                       (a random key)
"""
import os
import base64
import hashlib
import hmac
import re
import sys
import urllib.parse

LIFETIME = 5


def encode(s):
    return urllib.parse.quote(s, safe="-._~")


def signature(key_b64, resource, expiry):
    to_sign = f"{encode(resource)}\n{expiry}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), to_sign, hashlib.sha256).digest()).decode()


def main():
    log_path, cs, fixed_token, other_key = sys.argv[1:5]
    log = open(log_path, encoding="utf-8", errors="replace").read()
    fields = dict(part.split("=", 1) for part in cs.split(";"))
    key = fields["SharedAccessKey"]
    resource = f"{fields['HostName']}/devices/{fields['DeviceId']}"
    meta = re.search(r"# secrets-meta: started=([\d.]+) ended=([\d.]+) sent=(\d+)", log)
    failures = []

    def check(name, ok, detail=""):
        print(("ok - " if ok else "not ok - ") + name)
        if not ok:
            failures.append(name)
            if detail:
                print(f"#   {detail}")

    check("secrets_meta_line", meta is not None)
    if meta is None:
        return 1
    first, last = int(float(meta.group(1))) - 2, int(float(meta.group(2))) + LIFETIME + 2
    check("trace_log_has_iotsec_rumqttc_and_rustls_records",
          " TRACE " in log and "rumqttc" in log and "rustls" in log and "renewing the SAS token" in log and log.count("\n") > 100)
    forms = [key, encode(key), base64.b64decode(key).hex(), key.rstrip("="), other_key, encode(other_key), fixed_token]
    fixed_sig = urllib.parse.unquote(fixed_token.split("sig=", 1)[1].split("&", 1)[0])
    forms += [fixed_sig, encode(fixed_sig)]
    for expiry in range(first, last + 1):
        sig = signature(key, resource, expiry)
        forms += [sig, encode(sig), base64.b64decode(sig).hex(), sig.rstrip("=")]
    leaked = [f[:6] + "..." for f in forms if f in log]
    check("no_key_token_or_signature_in_the_log_or_errors", not leaked, f"found: {leaked}")
    check("no_sas_token_text", "SharedAccessSignature sr=" not in log and "sig=" not in log)
    check("no_connection_string_key_field", all("SharedAccessKey=" not in line for line in log.splitlines()))
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["fixed-token"]:
        f = dict(part.split("=", 1) for part in sys.argv[2].split(";"))
        resource, expiry = f"{f['HostName']}/devices/{f['DeviceId']}", 1_000_000_000
        sig = signature(f["SharedAccessKey"], resource, expiry)
        print(f"SharedAccessSignature sr={encode(resource)}&sig={encode(sig)}&se={expiry}")
        sys.exit(0)
    if sys.argv[1:2] == ["other-key"]:
        print(base64.b64encode(os.urandom(32)).decode())
        sys.exit(0)
    sys.exit(main())
