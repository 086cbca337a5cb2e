#!/usr/bin/env python3
"""Validation rate of python-jsonschema on the same message and the same 17 schemas as iotsec.

The baseline for iotsec's schema benchmark (core/benches/validation.rs runs this script and
prints both rates and their ratio). It sets python-jsonschema up the way iotsec is set up: every
file a Draft 7 resource in one registry, Draft 7 validator for messageRoot.json, format checks
on, and `date-time` replaced by the same lenient check (T, t or space; offset required).

Usage: scripts/bench_python_jsonschema.py [--body FILE] [--seconds N]
Prints one line: `python-jsonschema <version>: <rate> validations/s (json.loads + is_valid)`.

`--check-vectors` instead validates every `body` case of tests/vectors/schema/*.json and
reports any whose validity python-jsonschema judges differently (an independent check of the
vectors' `valid` flags).

python-jsonschema is installed into a virtualenv under target/bench-venv the first time.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import date

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "bench-venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
SCHEMAS = os.path.join(ROOT, "core", "src", "schema", "files")
DEFAULT_BODY = os.path.join(ROOT, "tests", "vectors", "guide", "guide_message_valid.json")


def ensure_venv():
    """Re-run this script with the venv's python, creating the venv first if needed."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(VENV_PYTHON):
        print("creating %s and installing jsonschema ..." % VENV, file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    probe = subprocess.run([VENV_PYTHON, "-c", "import jsonschema, referencing"], capture_output=True)
    if probe.returncode != 0:
        subprocess.check_call([VENV_PYTHON, "-m", "pip", "install", "--quiet", "jsonschema"])
    os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)


DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$", re.ASCII
)


def is_date_time(value):
    """iotsec's date-time: RFC 3339 with T, t or space; offset required; calendar checked."""
    if not isinstance(value, str):
        return True
    m = DATE_TIME.match(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        date(max(year, 1), month, day)
    except ValueError:
        return False
    offset = 0
    if m.group(9) is not None:
        if int(m.group(9)) > 23 or int(m.group(10)) > 59:
            return False
        offset = (int(m.group(9)) * 60 + int(m.group(10))) * (-1 if m.group(8)[0] == "-" else 1)
    if hour > 23 or minute > 59 or second > 60:
        return False
    # A leap second only at the end of a UTC day.
    return second < 60 or (hour * 60 + minute - offset) % 1440 == 23 * 60 + 59


def build_validator():
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources = []
    for name in sorted(os.listdir(SCHEMAS)):
        if name.endswith(".json"):
            with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
                resources.append((name, Resource(contents=json.load(f), specification=DRAFT7)))
    if len(resources) != 17:
        sys.exit("expected 17 schema files in %s, found %d" % (SCHEMAS, len(resources)))
    registry = Registry().with_resources(resources)
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    checker.checks("date-time")(is_date_time)
    root = registry.contents("messageRoot.json")
    return jsonschema.Draft7Validator(root, registry=registry, format_checker=checker)


def check_vectors(validator):
    """Exit status: 0 when python-jsonschema agrees with every `valid` flag."""
    import glob
    checked, wrong = 0, 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "schema", "*.json"))):
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        for case in cases:
            if "body" not in case:
                continue
            checked += 1
            if validator.is_valid(case["body"]) != case["valid"]:
                wrong += 1
                print("disagrees: %s: %s (vector says valid=%s)" % (os.path.basename(path), case["name"], case["valid"]))
    print("python-jsonschema checked %d vector bodies: %d disagreement(s)" % (checked, wrong))
    return 1 if wrong else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body", default=DEFAULT_BODY, help="message file to validate")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to measure")
    parser.add_argument("--check-vectors", action="store_true", help="cross-check the schema vectors")
    args = parser.parse_args()
    ensure_venv()

    validator = build_validator()
    if args.check_vectors:
        sys.exit(check_vectors(validator))
    with open(args.body, "rb") as f:
        body = f.read()
    if not validator.is_valid(json.loads(body)):
        errors = "; ".join(e.message[:200] for e in validator.iter_errors(json.loads(body)))
        sys.exit("the benchmark message is not valid for python-jsonschema: " + errors)

    from importlib.metadata import version as dist_version
    version = dist_version("jsonschema")

    count, start = 0, time.perf_counter()
    deadline = start + args.seconds
    while True:
        for _ in range(50):
            validator.is_valid(json.loads(body))
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            break
    rate = count / (now - start)
    print("python-jsonschema %s: %.0f validations/s (json.loads + is_valid, %d-byte message)" % (version, rate, len(body)))


if __name__ == "__main__":
    main()
