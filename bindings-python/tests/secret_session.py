"""The child process of test_secrets.py (not a test module): a full session at TRACE logging
(IOTSEC_LOG=trace is set by the parent) against the local hub: connect, send for ~7 s with a
5 s SAS token (so the token is renewed), plus the failures whose messages could carry a secret.
Prints one JSON document on stdout: what happened, every error text and repr."""

import json
import os
import sys
import time
from typing import Any, Dict, List

import iotsec
from iotsec import ConnectionEvent

config: Dict[str, Any] = json.loads(os.environ["IOTSEC_SECRETS_CONFIG"])
out: Dict[str, Any] = {"errors": [], "events": [], "reprs": []}
started = time.time()


def note_error(e: BaseException) -> None:
    out["errors"].append({"type": type(e).__name__, "str": str(e), "repr": repr(e), "args": [str(a) for a in e.args]})


events: List[ConnectionEvent] = []
client = iotsec.IoTHubDeviceClient.create_from_connection_string(
    config["connection_string"], port=config["port"], ca_file=config["ca_file"], sastoken_ttl=5
)
client.on_connection_event = events.append
out["reprs"].append(repr(client))
client.connect()
sent = 0
while time.time() - started < config["seconds"]:
    m = iotsec.Message('{"n": %d}' % sent, message_id=f"s-{sent}")
    m.custom_properties["k"] = "v"
    out["reprs"].append(repr(m))
    client.send_message(m)
    sent += 1
    time.sleep(0.2)
client.disconnect()
client.shutdown()
out["sent"] = sent

# Failures whose text is built from a connection string or the broker's refusal.
for cs, options in config["failing"]:
    try:
        c = iotsec.IoTHubDeviceClient.create_from_connection_string(cs, **options)
        out["reprs"].append(repr(c))
        try:
            c.connect()
        finally:
            c.shutdown()
    except Exception as e:  # noqa: BLE001
        note_error(e)

time.sleep(0.2)  # let the event thread deliver the last changes
out["events"] = [[e.state, e.reason, e.status, e.attempt, repr(e.error)] for e in events]
out["started"] = started
out["ended"] = time.time()
print(json.dumps(out))
sys.stdout.flush()
