"""Type information: mypy --strict passes on the example that uses the whole public API (which
also runs for real), and the hand-written stub of the native module matches the module."""

import ast
import inspect
import os
import pathlib
import subprocess
import sys
from typing import Dict, Set

import iotsec
from iotsec import _native

from conftest import Mosquitto, connection_string, unique

PACKAGE = pathlib.Path(iotsec.__file__).parent
EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "full_api.py"


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_native.pyi").exists()


def test_mypy_strict_on_the_full_api_example() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "--python-version", "3.10", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=EXAMPLE.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_package_itself(tmp_path: pathlib.Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "-p", "iotsec"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_rejects_misuse(tmp_path: pathlib.Path) -> None:
    """The types are precise enough to catch mistakes (so the check above means something)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import iotsec\n"
        "m = iotsec.Message('x')\n"
        "m.message_id = 5\n"
        "n: int = iotsec.security.validate(b'{}')\n"
        "iotsec.IoTHubDeviceClient.create_from_connection_string(b'x')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, str(bad)], capture_output=True, text=True,
        timeout=600,
    )
    assert result.returncode == 1
    assert result.stdout.count("error:") == 3, result.stdout


def test_full_api_example_runs(mosquitto: Mosquitto) -> None:
    device = unique("example")
    env = dict(os.environ, IOTSEC_CONNECTION_STRING=connection_string(device), IOTSEC_CA_FILE=mosquitto.ca_file,
               IOTSEC_MQTT_PORT=str(mosquitto.port))
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
    # 3 messages + text + bytes (blocking), 1 + 3 + 1 (asyncio), 1 from the module client, 1 for that
    assert len(mosquitto.for_device(device, count=11)) == 11


def stub_names() -> Dict[str, Set[str]]:
    """Top-level names of _native.pyi, and the members of each class in it."""
    tree = ast.parse((PACKAGE / "_native.pyi").read_text())
    out: Dict[str, Set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[""].add(node.name)
            members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            members |= {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            out[node.name] = members - {"__init__"}
        elif isinstance(node, ast.FunctionDef):
            out[""].add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[""].add(node.target.id)
    out[""] = {n for n in out[""] if not (n.startswith("_") and n[1:2].isupper())}  # private aliases
    return out


def test_native_stub_matches_the_module() -> None:
    stub = stub_names()
    module = {n for n in dir(_native) if not n.startswith("__")}
    assert stub[""] == module, (stub[""] ^ module)
    for name, members in stub.items():
        if not name:
            continue
        cls = getattr(_native, name)
        actual = {n for n, _ in inspect.getmembers(cls) if not n.startswith("__") or n == "__call__"}
        actual -= {n for n, _ in inspect.getmembers(object)}
        if "__call__" not in members:
            actual.discard("__call__")
        assert members == actual, (name, members ^ actual)
