"""The Python conformance driver: runs in a fresh venv where only the iotsec wheel is installed,
and uses the package's public API only. tests/conformance/run.py reads what it prints (one JSON
object per line); the protocol is in tests/conformance/README.md.

  driver.py snippet GUIDE_FILE BODY_FILE   (connection string in the environment variable the
                                            guide reads, "<connection_string>"; CA and port from
                                            IOTSEC_CA_FILE / IOTSEC_MQTT_PORT)
  driver.py wire VECTORS_DIR CA_FILE PORT
  driver.py schema VECTORS_DIR
  driver.py bad CA_FILE PORT INVALID_BODY_FILE WRONG_CA_FILE HUB_CA_FILE HUB_PORT HUB_FORGED_CONNECTION_STRING
"""

import asyncio
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import iotsec
import iotsec.security
from iotsec.exceptions import IoTSecError

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def emit(obj: Dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def snippet(guide_file: str, body_file: str) -> None:
    """The guide's function, from tests/guide/python.py with only its two import lines changed
    (tests/guide/README.md), run once."""
    original = Path(guide_file).read_text()
    source = original
    for old, new in (
        ("from azure.iot.device.aio import IoTHubDeviceClient, IoTHubModuleClient\n",
         "from iotsec.aio import IoTHubDeviceClient, IoTHubModuleClient\n"),
        ("from azure.iot.device import Message\n", "from iotsec import Message\n"),
    ):
        if source.count(old) != 1:
            emit({"check": "snippet", "ok": False, "error": "GUIDE_CHANGED", "message": f"the guide no longer has {old!r}"})
            return
        source = source.replace(old, new)
    changed = [a for a, b in zip(original.splitlines(), source.splitlines()) if a != b]
    if len(changed) != 2:
        emit({"check": "snippet", "ok": False, "error": "GUIDE_CHANGED", "message": f"{len(changed)} lines changed"})
        return
    namespace: Dict[str, Any] = {"os": os}
    exec(compile(source, guide_file, "exec"), namespace)
    body = Path(body_file).read_text()
    try:
        asyncio.run(namespace["send_security_message_async"](body))
        emit({"check": "snippet", "ok": True})
    except IoTSecError as e:
        emit({"check": "snippet", "ok": False, "error": e.code, "message": e.message})


def json_files(directory: str) -> List[Path]:
    return sorted(Path(directory).glob("*.json"))


def build_message(v: Dict[str, Any]) -> iotsec.Message:
    if "body_text" in v:
        data: Any = v["body_text"]
    elif "body_base64" in v:
        data = base64.b64decode(v["body_base64"])
    else:
        data = v["body_repeat"]["text"] * v["body_repeat"]["count"]
    m = iotsec.Message(data)
    m.message_id = v.get("message_id")
    m.correlation_id = v.get("correlation_id")
    m.user_id = v.get("user_id")
    m.to = v.get("to")
    m.content_type = v.get("content_type")
    m.content_encoding = v.get("content_encoding")
    m.output_name = v.get("output_name")
    m.expiry_time_utc = v.get("expiry_time_utc")
    m.component_name = v.get("component_name")
    if "interface_id" in v:
        m.iothub_interface_id = v["interface_id"]
    if v.get("security"):
        m.set_as_security_message()
    for key, value in v.get("properties", []):
        m.custom_properties[key] = value
    return m


def connection_string(device: str, module: Optional[str]) -> str:
    if module is None:
        return f"HostName=localhost;DeviceId={device};SharedAccessKey={KEY}"
    return f"HostName=localhost;DeviceId={device};ModuleId={module};SharedAccessKey={KEY}"


def wire(directory: str, ca: str, port: str) -> None:
    clients: Dict[Tuple[str, Optional[str]], Any] = {}
    for path in json_files(directory):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            name = case["name"]
            key = (case["device_id"], case.get("module_id"))
            try:
                if key not in clients:
                    cls = iotsec.IoTHubModuleClient if key[1] is not None else iotsec.IoTHubDeviceClient
                    # Validation off: the wire vectors are about topics and bytes.
                    clients[key] = cls.create_from_connection_string(
                        connection_string(*key), ca_file=ca, port=int(port), validation="off"
                    )
                clients[key].send_message(build_message(case["message"]))
                emit({"name": name, "result": "sent"})
            except IoTSecError as e:
                emit({"name": name, "error": e.code, "message": e.message})
    for client in clients.values():
        client.shutdown()


def schema(directory: str) -> None:
    for path in json_files(directory):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            if "body" in case:
                body = json.dumps(case["body"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            elif "body_text" in case:
                body = case["body_text"].encode("utf-8")
            else:
                body = base64.b64decode(case["body_base64"])
            violations = []
            for v in iotsec.security.validate(body):
                entry: List[Any] = [v.pointer, v.rule]
                if v.position is not None:
                    entry.append([v.position.offset, v.position.line, v.position.column])
                violations.append(entry)
            emit({"file": path.name, "name": case["name"], "is_valid": iotsec.security.is_valid(body), "violations": violations})


def outcome(check: str, fn: Any) -> None:
    try:
        fn()
        emit({"check": check, "error": None})
    except IoTSecError as e:
        violations = [[v.pointer, v.rule] for v in getattr(e, "violations", None) or []]
        emit({"check": check, "error": e.code, "message": e.message, "violations": violations})


def bad(ca: str, port: str, invalid_body_file: str, wrong_ca: str, hub_ca: str, hub_port: str, forged: str) -> None:
    secret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    Device = iotsec.IoTHubDeviceClient
    outcome("connection_string_without_device_id",
            lambda: Device.create_from_connection_string(f"HostName=localhost;SharedAccessKey={secret}"))
    outcome("connection_string_key_not_base64",
            lambda: Device.create_from_connection_string("HostName=localhost;DeviceId=conf-bad;SharedAccessKey=not a key!"))
    outcome("connection_string_garbage", lambda: Device.create_from_connection_string("not a connection string"))
    outcome("module_connection_string_for_device_client",
            lambda: Device.create_from_connection_string(connection_string("conf-bad", "m")))

    client = Device.create_from_connection_string(connection_string("conf-bad-python", None), ca_file=ca, port=int(port))
    invalid = iotsec.Message(Path(invalid_body_file).read_bytes())
    invalid.set_as_security_message()
    outcome("schema_invalid_security_message", lambda: client.send_message(invalid))
    client.shutdown()
    outcome("send_after_close", lambda: client.send_message(iotsec.Message("sent after close")))

    client = Device.create_from_connection_string(connection_string("conf-bad-python", None), ca_file=wrong_ca, port=int(port))
    outcome("untrusted_server_certificate", client.connect)
    client.shutdown()
    client = Device.create_from_connection_string(forged, ca_file=hub_ca, port=int(hub_port))
    outcome("credential_refused_by_hub", client.connect)
    client.shutdown()


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "snippet":
        snippet(*args)
    elif mode == "wire":
        wire(*args)
    elif mode == "schema":
        schema(*args)
    elif mode == "bad":
        bad(*args)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
