#!/usr/bin/env python3
"""Asserts what the local hub stored after test_hub sent (TAP-style lines, like the C tests).

usage: check_hub_store.py DATA_DIR DEVICE_ID MODULE_ID
"""
import json
import os
import sys
import time

SECURITY_IFID = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"


def records(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def wait_for(path, predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while True:
        found = [r for r in records(path) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def main():
    data_dir, device, module = sys.argv[1:4]
    store = os.path.join(data_dir, "store")
    failed = 0
    passed = 0

    def report(ok, name, detail=""):
        nonlocal failed, passed
        if ok:
            passed += 1
            print(f"ok - {name}")
        else:
            failed += 1
            print(f"#   {detail}")
            print(f"not ok - {name}")

    topic = f"devices/{device}/modules/{module}/messages/events/{SECURITY_IFID}"
    valid = wait_for(
        os.path.join(store, "security.jsonl"),
        lambda r: r.get("device_id") == device and r.get("module_id") == module and r.get("topic") == topic,
    )
    report(
        len(valid) == 1,
        "hub_stored_the_guide_message_with_its_exact_topic",
        f"expected 1 record for {device}/{module} on {topic} in security.jsonl, found {len(valid)}",
    )
    if valid:
        props = valid[0].get("properties", {})
        report(
            props.get("$.ifid") == "urn:azureiot:Security:SecurityAgent:1",
            "hub_saw_the_security_interface_id",
            f"properties: {props}",
        )

    dropped = wait_for(
        os.path.join(store, "dropped.jsonl"),
        lambda r: r.get("device_id") == device and r.get("message_id") == "c-invalid-1",
    )
    report(len(dropped) >= 1, "hub_dropped_the_invalid_message", "no record with message_id c-invalid-1 in dropped.jsonl")
    if dropped:
        report(
            "UserId" in json.dumps(dropped[0].get("violations")),
            "hub_named_the_missing_user_id",
            f"violations: {dropped[0].get('violations')}",
        )
    leaked = [r for r in records(os.path.join(store, "security.jsonl")) if r.get("message_id") == "c-invalid-1"]
    report(not leaked, "invalid_message_not_in_the_security_store", f"{len(leaked)} invalid records in security.jsonl")
    print(f"# check_hub_store: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
