#!/usr/bin/env python3
"""Cross-language conformance: every iotsec package, installed the way a user installs it, held
to the same vectors against the same two brokers.

For Rust, Python, Node.js, Java, C# and C, one after another:

  install   the package the way a user does (a new cargo project depending on core/ by path;
            the wheel in a fresh venv; the `npm pack` tarball in an empty folder; the JAR on a
            plain classpath; IotSec.dll + libiotsec.so; iotsec.h + libiotsec.so with gcc), then
            a small driver (tests/conformance/drivers/<lang>/) that uses the public API only
  snippet   the language's guide snippet (tests/guide/, changed only as its README allows)
            against mosquitto and against the local hub, each language with its own device id
  wire      every case of tests/vectors/wire/ sent to mosquitto; the recorder's file, sliced by
            line offset per language, must hold exactly the vector's topic and payload bytes
  schema    every case of tests/vectors/schema/*.json through the language's validate API:
            verdict, (pointer, rule) list and text positions
  bad       bad input: invalid connection strings, a schema-invalid security message, a send
            after close, each with its documented error kind and no secret in the message

then checks that the six languages agree with each other byte for byte, prints one matrix
(language x check) and exits non-zero on any miss.

Python 3 standard library only. Usage (scripts/test-conformance.sh is the usual way in):

  python3 tests/conformance/run.py [--only rust,python,...]

With IOTSEC_TEST_ENV / IOTSEC_TEST_HUB_ENV set (scripts/lib.sh start_mosquitto / start_hub),
it uses those brokers; otherwise it starts its own, on free 127.0.0.1 ports, and stops them
(by PID) when done. Build artefacts come from `cargo build --release --workspace`.
"""

import argparse
import base64
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tests" / "conformance"
DRIVERS = HERE / "drivers"
VECTORS = ROOT / "tests" / "vectors"
GUIDE = ROOT / "tests" / "guide"
TARGET_DIR = Path(os.environ.get("TARGET_DIR") or ROOT / "target" / "release")
WORK = ROOT / "target" / "conformance"

LANGUAGES = ["rust", "python", "node", "java", "csharp", "c"]
CHECKS = ["install", "snippet", "wire vectors", "schema vectors", "bad input"]
SECURITY_IFID = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"
ANY_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
VALID_BODY = VECTORS / "guide" / "guide_message_valid.json"
INVALID_BODY = VECTORS / "guide" / "guide_message.json"
# Seconds a driver run may take (a hung driver is a failed cell, not a hung suite).
DRIVER_TIMEOUT = {"snippet": 60, "wire": 180, "schema": 120, "bad": 120}

# What the bad-input checks must report, in every language (core/src/error.rs kinds), and the
# text their messages must never contain (secrets given in the input).
BAD_INPUT: Dict[str, Tuple[str, List[str]]] = {
    "connection_string_without_device_id": ("INVALID_CONNECTION_STRING", ["QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", "QUJDREVG"]),
    "connection_string_key_not_base64": ("INVALID_CONNECTION_STRING", ["not a key!"]),
    "connection_string_garbage": ("INVALID_CONNECTION_STRING", []),
    "module_connection_string_for_device_client": ("INVALID_CONNECTION_STRING", [ANY_KEY]),
    "schema_invalid_security_message": ("SCHEMA_VALIDATION", []),
    "send_after_close": ("CLOSED", []),
    "untrusted_server_certificate": ("TLS", []),
    "credential_refused_by_hub": ("CREDENTIAL_REFUSED", ["QUJDQUJD"]),
}
FORGED_KEY = "QUJD" * 11  # base64, 33 bytes: a key the hub did not issue
BAD_INPUT_VIOLATIONS = {"schema_invalid_security_message": [["/Events/0/Payload/0/UserId", "required"]]}
# Where a language's own idiom documents another outcome. C has no close that keeps the handle:
# IoTHubDeviceClient_Destroy is its close, and a destroyed handle is refused like any invalid
# handle (bindings-c/README.md: "NULL, destroyed or foreign handles ... are refused with
# *_INVALID_ARG"). The cross-language comparison counts these as the documented equivalent.
BAD_INPUT_BY_LANGUAGE: Dict[str, Dict[str, str]] = {"c": {"send_after_close": "INVALID_ARGUMENT"}}
# The C SDK's return codes the C driver reports for its sends (bindings-c/README.md, "Errors").
C_SDK_RESULTS = {"schema_invalid_security_message": "IOTHUB_CLIENT_ERROR", "send_after_close": "IOTHUB_CLIENT_INVALID_ARG"}


def log(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", file=sys.stderr, flush=True)


def version() -> str:
    m = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    assert m, "no workspace version in Cargo.toml"
    return m.group(1)


def run(cmd: List[Any], cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def where_differs(got: str, want: str) -> str:
    """`got` vs `want`, shown around the first character where they differ."""
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    lo = max(0, i - 30)
    return f"at byte {i}: ...{got[lo:i + 40]!r} vs expected ...{want[lo:i + 40]!r}"


def tail(text: str, n: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


class Failure(Exception):
    """A check failed; the message is the short reason shown in the matrix."""


def base_env() -> Dict[str, str]:
    env = dict(os.environ)
    # Each driver gets CA and port explicitly; nothing from the caller may redirect it.
    for k in ("IOTSEC_CA_FILE", "IOTSEC_MQTT_PORT", "PYTHONPATH", "NODE_PATH", "CLASSPATH", "LD_LIBRARY_PATH", "MONO_PATH"):
        env.pop(k, None)
    return env


# ---------------------------------------------------------------------------------------- brokers


class Brokers:
    """One mosquitto (TLS, with the recorder) and one local hub, both on 127.0.0.1."""

    def __init__(self) -> None:
        self.pids: List[int] = []
        self.procs: List[subprocess.Popen] = []
        mosq_env = os.environ.get("IOTSEC_TEST_ENV")
        hub_env = os.environ.get("IOTSEC_TEST_HUB_ENV")
        if not mosq_env:
            mosq_env = str(self._start([TARGET_DIR / "iotsec-testkit", "up", "--dir", WORK / "mosquitto"], WORK / "mosquitto", "env.json"))
        if not hub_env:
            d = WORK / "hub"
            hub_env = str(self._start([TARGET_DIR / "iotsec", "hub", "--data-dir", d / "data", "--port", "0", "--plain-port", "0",
                                       "--ready-file", d / "hub.json"], d, "hub.json"))
        self.mosquitto = json.loads(Path(mosq_env).read_text())
        self.hub = json.loads(Path(hub_env).read_text())
        self.received_file = Path(self.mosquitto["received_file"])
        self.log_file = Path(self.mosquitto["log_file"])
        self.hub_data = Path(self.hub["data_dir"])

    def _start(self, cmd: List[Any], directory: Path, ready: str) -> Path:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        out = open(directory / "process.out", "w")
        p = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(p)
        path = directory / ready
        deadline = time.time() + 30
        while not (path.exists() and path.stat().st_size > 0):
            if p.poll() is not None or time.time() > deadline:
                raise SystemExit(f"could not start {cmd[0]}: see {directory / 'process.out'}")
            time.sleep(0.1)
        return path

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    # mosquitto's recorder: JSON Lines, one per PUBLISH received on devices/#
    def received(self) -> List[Dict[str, Any]]:
        if not self.received_file.exists():
            return []
        out = []
        for line in self.received_file.read_bytes().split(b"\n"):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a write in progress
        return out

    def received_since(self, offset: int, expected: int, timeout: float = 15.0) -> List[Dict[str, Any]]:
        """The records after `offset`, once `expected` of them arrived (or the timeout passed),
        plus anything that arrives in a short grace period after."""
        deadline = time.time() + timeout
        while len(self.received()) < offset + expected and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return self.received()[offset:]

    def usernames(self, client_id: str) -> List[str]:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        pattern = re.compile(r" as (\S+) \(p\d+, c\d+, k\d+, u'([^']*)'\)")
        return [u for cid, u in pattern.findall(text) if cid == client_id]

    # the local hub
    def add_device(self, device: str, module: Optional[str]) -> str:
        cmd = [TARGET_DIR / "iotsec", "hub", "add-device", "--data-dir", self.hub_data, device]
        if module:
            cmd += ["--module", module]
        r = run(cmd, timeout=60)
        if r.returncode != 0:
            raise Failure(f"hub add-device failed: {tail(r.stderr, 3)}")
        return r.stdout.strip().splitlines()[-1]

    def hub_records(self, store: str, device: str, module: Optional[str]) -> List[Dict[str, Any]]:
        path = self.hub_data / "store" / store
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("device_id") == device and r.get("module_id") == module:
                out.append(r)
        return out


def connection_string(device: str, module: Optional[str]) -> str:
    m = f";ModuleId={module}" if module else ""
    return f"HostName=localhost;DeviceId={device}{m};SharedAccessKey={ANY_KEY}"


# ---------------------------------------------------------------------------------------- vectors


def wire_cases() -> List[Dict[str, Any]]:
    cases = []
    for path in sorted((VECTORS / "wire").glob("*.json")):
        for c in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            cases.append(c)
    return cases


def wire_body(v: Dict[str, Any]) -> bytes:
    if "body_text" in v:
        return v["body_text"].encode("utf-8")
    if "body_base64" in v:
        return base64.b64decode(v["body_base64"])
    return (v["body_repeat"]["text"] * v["body_repeat"]["count"]).encode("utf-8")


def schema_cases() -> List[Dict[str, Any]]:
    cases = []
    for path in sorted((VECTORS / "schema").glob("*.json")):
        for c in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            c = dict(c)
            c["__file"] = path.name
            cases.append(c)
    return cases


# ---------------------------------------------------------------------------------------- languages


class Language:
    name = ""
    # Whether the guide snippet of this language uses a module client (else a device client).
    snippet_module = True

    def __init__(self) -> None:
        self.dir = WORK / f"{self.name}-app"
        self.installed_note = ""

    def install(self) -> str:
        """Installs the package and builds the driver; returns a short note (e.g. timings)."""
        raise NotImplementedError

    def command(self, mode: str, args: List[str]) -> List[str]:
        raise NotImplementedError

    def env(self) -> Dict[str, str]:
        return base_env()

    def snippet_command(self, cs: str, body: Path) -> Tuple[List[str], Dict[str, str]]:
        return self.command("snippet", [cs, str(body)]), {}

    def drive(self, mode: str, args: List[str], extra_env: Optional[Dict[str, str]] = None,
              command: Optional[List[str]] = None) -> List[Dict[str, Any]]:
        env = self.env()
        env.update(extra_env or {})
        cmd = command or self.command(mode, args)
        try:
            r = run(cmd, cwd=self.dir, env=env, timeout=DRIVER_TIMEOUT[mode])
        except subprocess.TimeoutExpired:
            raise Failure(f"driver `{mode}` did not finish in {DRIVER_TIMEOUT[mode]} s")
        (WORK / "logs").mkdir(exist_ok=True)
        (WORK / "logs" / f"{self.name}-{mode}.stdout").write_text(r.stdout)
        (WORK / "logs" / f"{self.name}-{mode}.stderr").write_text(r.stderr)
        lines = []
        for line in r.stdout.splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        if r.returncode != 0:
            raise Failure(f"driver `{mode}` exited with {r.returncode}: {tail(r.stderr, 4) or tail(r.stdout, 4)}")
        return lines


def build_step(cmd: List[Any], cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None, what: str = "",
               timeout: float = 900) -> subprocess.CompletedProcess:
    r = run([str(c) for c in cmd], cwd=cwd, env=env, timeout=timeout)
    if r.returncode != 0:
        raise Failure(f"{what or cmd[0]} failed: {tail(r.stderr or r.stdout, 6)}")
    return r


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class Rust(Language):
    name = "rust"
    snippet_module = True

    def install(self) -> str:
        app = fresh_dir(self.dir)
        (app / "src").mkdir()
        manifest = (DRIVERS / "rust" / "Cargo.toml.in").read_text().replace("@IOTSEC_CORE@", str(ROOT / "core"))
        (app / "Cargo.toml").write_text(manifest)
        shutil.copy(DRIVERS / "rust" / "src" / "main.rs", app / "src" / "main.rs")
        # The workspace's lock file: the same dependency versions, so the compiled ones are reused.
        shutil.copy(ROOT / "Cargo.lock", app / "Cargo.lock")
        env = base_env()
        env["CARGO_TARGET_DIR"] = str(TARGET_DIR.parent)
        t0 = time.time()
        r = run(["cargo", "build", "--release", "--offline"], cwd=app, env=env, timeout=1200)
        if r.returncode != 0 and "offline" in r.stderr:
            r = run(["cargo", "build", "--release"], cwd=app, env=env, timeout=1200)
        if r.returncode != 0:
            raise Failure(f"cargo build failed: {tail(r.stderr, 6)}")
        compiled = sorted(set(re.findall(r"Compiling (\S+) v", r.stderr)))
        self.binary = TARGET_DIR.parent / "release" / "iotsec-conformance-driver"
        return f"cargo build {time.time() - t0:.0f} s, compiled {len(compiled)} crate(s): {', '.join(compiled) or 'none'}"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return [str(self.binary), mode, *args]


class Python(Language):
    name = "python"
    snippet_module = False  # IoTHubDeviceClient

    def install(self) -> str:
        maturin = ROOT / "target" / "venv" / "bin" / "maturin"
        if not maturin.exists():
            build_step([ROOT / "scripts" / "install-deps.sh"], what="scripts/install-deps.sh (for maturin)")
        wheels = fresh_dir(WORK / "wheels")
        t0 = time.time()
        build_step([maturin, "build", "--release", "--locked", "-m", ROOT / "bindings-python" / "Cargo.toml", "--out", wheels],
                   cwd=ROOT, what="maturin build")
        t_wheel = time.time() - t0
        wheel = sorted(wheels.glob("iotsec-*-abi3-*.whl"))
        if not wheel:
            raise Failure("maturin made no abi3 wheel")
        venv = WORK / "py-venv"
        shutil.rmtree(venv, ignore_errors=True)
        build_step([sys.executable, "-m", "venv", venv], what="python -m venv")
        self.python = venv / "bin" / "python"
        build_step([self.python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--disable-pip-version-check", wheel[0]],
                   what="pip install")
        app = fresh_dir(self.dir)
        shutil.copy(DRIVERS / "python" / "driver.py", app / "driver.py")
        where = build_step([self.python, "-c", "import iotsec; print(iotsec.__file__)"], cwd=app, env=self.env()).stdout.strip()
        if not where.startswith(str(venv)):
            raise Failure(f"iotsec was imported from {where}, not from the venv")
        return f"{wheel[0].name} ({t_wheel:.0f} s) into a fresh venv"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return [str(self.python), "driver.py", mode, *args]

    def env(self) -> Dict[str, str]:
        env = base_env()
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def snippet_command(self, cs: str, body: Path) -> Tuple[List[str], Dict[str, str]]:
        # The guide reads the connection string with os.getenv("<connection_string>").
        return self.command("snippet", [str(GUIDE / "python.py"), str(body)]), {"<connection_string>": cs}


class Node(Language):
    name = "node"
    snippet_module = False  # Client

    def install(self) -> str:
        pkg = ROOT / "bindings-node"
        manifest = json.loads((pkg / "package.json").read_text())
        # The package as `npm pack` in bindings-node packs it after its build (scripts/test-node.sh):
        # its files, and the native module cargo built, stripped of debug line tables.
        stage = fresh_dir(WORK / "node-stage")
        shutil.copy(pkg / "package.json", stage)
        for pattern in manifest["files"]:
            if pattern.startswith("native/"):
                continue
            for f in glob.glob(str(pkg / pattern)):
                shutil.copy(f, stage)
        native = TARGET_DIR / "libiotsec_node.so"
        if not native.exists():
            raise Failure(f"{native} is missing: run cargo build --release --workspace")
        (stage / "native").mkdir()
        node_file = stage / "native" / "iotsec.linux-x64-gnu.node"
        shutil.copy(native, node_file)
        run(["strip", "--strip-debug", node_file])
        packs = fresh_dir(WORK / "node-pack")
        r = build_step(["npm", "pack", "--json", "--pack-destination", packs], cwd=stage, what="npm pack")
        tarball = packs / json.loads(r.stdout)[0]["filename"]
        app = fresh_dir(self.dir)
        (app / "package.json").write_text(json.dumps({"name": "iotsec-conformance-node", "private": True}))
        build_step(["npm", "install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], cwd=app, what="npm install")
        shutil.copy(DRIVERS / "node" / "driver.js", app / "driver.js")
        return f"{tarball.name} ({tarball.stat().st_size // 1024 // 1024} MB) into an empty folder"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return ["node", "driver.js", mode, *args]

    def snippet_command(self, cs: str, body: Path) -> Tuple[List[str], Dict[str, str]]:
        return self.command("snippet", [str(GUIDE / "node.js"), str(body), cs]), {}


class Java(Language):
    name = "java"
    snippet_module = True  # ModuleClient

    def jar_path(self) -> Path:
        return ROOT / "bindings-java" / "target" / f"iotsec-{version()}.jar"

    def install(self) -> str:
        jar = self.jar_path()
        native = TARGET_DIR / "libiotsec_jni.so"
        sources = [Path(p) for p in glob.glob(str(ROOT / "bindings-java" / "src" / "main" / "**" / "*"), recursive=True)]
        newest = max([p.stat().st_mtime for p in sources if p.is_file()] + [native.stat().st_mtime if native.exists() else 0])
        note = "the JAR of scripts/test-java.sh"
        if not jar.exists() or jar.stat().st_mtime < newest:
            # As bindings-java/README.md builds it (the native library, then `mvn package`), in a
            # copy of bindings-java under target/conformance, so that bindings-java/target is
            # left to scripts/test-java.sh.
            if not native.exists():
                raise Failure(f"{native} is missing: run cargo build --release --workspace")
            native_dir = fresh_dir(WORK / "java-native")
            shutil.copy(native, native_dir / "libiotsec_jni.so")
            run(["strip", "--strip-debug", native_dir / "libiotsec_jni.so"])
            build = fresh_dir(WORK / "java-build")
            shutil.copytree(ROOT / "bindings-java" / "src" / "main", build / "bindings-java" / "src" / "main")
            shutil.copy(ROOT / "bindings-java" / "pom.xml", build / "bindings-java")
            os.symlink(ROOT / "tests", build / "tests")  # the pom reads ../tests/guide/java.java
            t0 = time.time()
            build_step(["mvn", "-B", "-q", "-Dmaven.test.skip=true", f"-Diotsec.native.dir={native_dir}", "package"],
                       cwd=build / "bindings-java", what="mvn package")
            jar = build / "bindings-java" / "target" / jar.name
            note = f"built with mvn package ({time.time() - t0:.0f} s)"
        app = fresh_dir(self.dir)
        shutil.copy(jar, app / jar.name)
        self.jar = jar.name
        shutil.copy(DRIVERS / "java" / "Driver.java", app)
        shutil.copy(DRIVERS / "java" / "EventCallback.java", app)
        (app / "GuideSnippet.java").write_text(java_guide_snippet())
        build_step(["javac", "-encoding", "UTF-8", "-cp", jar.name, "-d", ".", "Driver.java", "EventCallback.java", "GuideSnippet.java"],
                           cwd=app, what="javac")
        return f"{jar.name} ({jar.stat().st_size // 1024 // 1024} MB, {note}) on a plain classpath"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return ["java", "-cp", f"{self.jar}{os.pathsep}.", "Driver", mode, *args]


def java_guide_snippet() -> str:
    """tests/guide/java.java in a class, changed only as tests/guide/README.md allows: `string`
    becomes `String` (the guide's typo) and the connection string literal a field."""
    original = (GUIDE / "java.java").read_text()
    if original.count('"<connection_string>"') != 1:
        raise Failure("tests/guide/java.java no longer has the connection string literal")
    changed = original.replace('"<connection_string>"', "connectionString")
    changed = re.sub(r"\bstring\b", "String", changed)
    diff = [i for i, (a, b) in enumerate(zip(original.splitlines(), changed.splitlines())) if a != b]
    if len(diff) > 3:
        raise Failure(f"the allowed changes touched {len(diff)} lines of the Java guide")
    return ("// Generated by tests/conformance/run.py from tests/guide/java.java.\n"
            "import io.iotsec.device.*;\n\n"
            "public class GuideSnippet {\n"
            "    static String connectionString;\n\n"
            f"{changed}\n}}\n")


class CSharp(Language):
    name = "csharp"
    snippet_module = True  # ModuleClient

    def install(self) -> str:
        src = ROOT / "bindings-csharp" / "src"
        sources = sorted(src.glob("*.cs")) if src.is_dir() else []
        if not sources:
            raise Failure("not built: bindings-csharp/src has no sources yet")
        for tool in ("mcs", "mono"):
            if not shutil.which(tool):
                build_step([ROOT / "scripts" / "install-deps.sh"], what="scripts/install-deps.sh (for Mono)")
        app = fresh_dir(self.dir)
        t0 = time.time()
        # The assembly as bindings-csharp builds it without a dotnet SDK (scripts/test-csharp.sh).
        build_step(["mcs", "-langversion:7", "-target:library", "-nowarn:1591", f"-out:{app / 'IotSec.dll'}", *sources],
                   cwd=app, what="mcs IotSec.dll")
        native = TARGET_DIR / "libiotsec.so"
        if not native.exists():
            raise Failure(f"{native} is missing: run cargo build --release --workspace")
        shutil.copy(native, app / "libiotsec.so")
        run(["strip", "--strip-debug", app / "libiotsec.so"])
        (app / "GuideSnippet.cs").write_text(csharp_guide_snippet())
        shutil.copy(DRIVERS / "csharp" / "Driver.cs", app)
        build_step(["mcs", "-langversion:7", "-out:Driver.exe", "-r:IotSec.dll", "-r:System.Core", "Driver.cs", "GuideSnippet.cs"],
                   cwd=app, what="mcs Driver.exe")
        return f"IotSec.dll ({time.time() - t0:.0f} s with mcs) + libiotsec.so beside it"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return ["mono", "Driver.exe", mode, *args]


def csharp_guide_snippet() -> str:
    """tests/guide/csharp.cs in a class, changed only as tests/guide/README.md allows: the
    connection string literal."""
    original = (GUIDE / "csharp.cs").read_text()
    if original.count('"<connection_string>"') != 1:
        raise Failure("tests/guide/csharp.cs no longer has the connection string literal")
    changed = original.replace('"<connection_string>"', "ConnectionString")
    return ("// Generated by tests/conformance/run.py from tests/guide/csharp.cs.\n"
            "using System.Text;\nusing System.Threading.Tasks;\nusing IotSec.Devices.Client;\n\n"
            "namespace IotSec.Guide\n{\npublic static class GuideSnippet\n{\n"
            "    public static string ConnectionString;\n\n"
            "    public static Task Run(string messageContent) { return SendSecurityMessageAsync(messageContent); }\n\n"
            f"{changed}\n}}\n}}\n")


class C(Language):
    name = "c"
    snippet_module = True  # IoTHubModuleClient

    def install(self) -> str:
        ver = version()
        major, minor = ver.split(".")[:2]
        soname = f"libiotsec.so.0.{minor}" if major == "0" else f"libiotsec.so.{major}"
        native = TARGET_DIR / "libiotsec.so"
        if not native.exists():
            raise Failure(f"{native} is missing: run cargo build --release --workspace")
        # An install prefix as bindings-c/README.md lays it out: header, library, SONAME links.
        prefix = fresh_dir(WORK / "c-prefix")
        (prefix / "include").mkdir()
        (prefix / "lib").mkdir()
        shutil.copy(ROOT / "bindings-c" / "include" / "iotsec.h", prefix / "include")
        shutil.copy(native, prefix / "lib" / f"libiotsec.so.{ver}")
        run(["strip", "--strip-debug", prefix / "lib" / f"libiotsec.so.{ver}"])
        os.symlink(f"libiotsec.so.{ver}", prefix / "lib" / soname)
        os.symlink(soname, prefix / "lib" / "libiotsec.so")
        self.lib = prefix / "lib"
        app = fresh_dir(self.dir)
        shutil.copy(DRIVERS / "c" / "driver.c", app)
        build_step(["gcc", "-std=c11", "-Wall", "-Wextra", "-O1", f'-DIOTSEC_GUIDE_C="{GUIDE / "c.c"}"', "-o", "driver", "driver.c",
                    f"-I{prefix / 'include'}", f"-L{self.lib}", "-liotsec", "-lpthread"], cwd=app, what="gcc")
        return f"iotsec.h + {soname} in a fresh prefix, gcc -liotsec"

    def command(self, mode: str, args: List[str]) -> List[str]:
        return ["./driver", mode, *args]

    def env(self) -> Dict[str, str]:
        env = base_env()
        env["LD_LIBRARY_PATH"] = str(self.lib)
        return env


LANGUAGE_CLASSES: Dict[str, Callable[[], Language]] = {"rust": Rust, "python": Python, "node": Node, "java": Java, "csharp": CSharp, "c": C}


# ---------------------------------------------------------------------------------------- checks


class Suite:
    def __init__(self, brokers: Brokers, languages: List[Language]) -> None:
        self.b = brokers
        self.languages = languages
        self.cells: Dict[Tuple[str, str], Tuple[bool, str]] = {}
        self.details: Dict[Tuple[str, str], List[str]] = {}
        self.wire: Dict[str, Dict[str, Any]] = {}  # lang -> case name -> ("sent", topic, payload) | ("error", kind)
        self.schema: Dict[str, Dict[Tuple[str, str], Any]] = {}
        self.bad: Dict[str, Dict[str, Any]] = {}
        self.timings: Dict[str, float] = {}

    def cell(self, lang: str, check: str, fn: Callable[[], str]) -> bool:
        t0 = time.time()
        try:
            note = fn()
            self.cells[(lang, check)] = (True, note)
            ok = True
        except Failure as e:
            self.cells[(lang, check)] = (False, str(e))
            ok = False
        except Exception as e:  # a bug in the runner or a crash of a tool: still a failed cell
            self.cells[(lang, check)] = (False, f"{type(e).__name__}: {e}")
            ok = False
        self.timings[f"{lang} {check}"] = time.time() - t0
        log(f"{lang} / {check}: {'pass' if ok else 'FAIL'} ({time.time() - t0:.1f} s) {self.cells[(lang, check)][1]}")
        return ok

    # ---- snippet
    def snippet(self, lang: Language) -> str:
        body = VALID_BODY.read_bytes()
        device = f"conf-{lang.name}"
        module = "guide" if lang.snippet_module else None
        client_id = f"{device}/{module}" if module else device
        base = f"devices/{device}/modules/{module}/messages/events/" if module else f"devices/{device}/messages/events/"
        expected_topic = base + SECURITY_IFID
        problems = []

        # mosquitto over TLS (any key: mosquitto takes any password)
        offset = len(self.b.received())
        cmd, extra = lang.snippet_command(connection_string(device, module), VALID_BODY)
        extra.update({"IOTSEC_CA_FILE": self.b.mosquitto["ca_file"], "IOTSEC_MQTT_PORT": str(self.b.mosquitto["tls_port"])})
        out = lang.drive("snippet", [], extra, cmd)
        if out != [{"check": "snippet", "ok": True}]:
            problems.append(f"mosquitto: the driver reported {out}")
        got = self.b.received_since(offset, 1)
        if len(got) != 1:
            problems.append(f"mosquitto received {len(got)} messages, not 1")
        elif got[0]["topic"] != expected_topic:
            problems.append(f"mosquitto topic {got[0]['topic']!r}, expected {expected_topic!r}")
        elif base64.b64decode(got[0]["payload_base64"]) != body or got[0]["qos"] != 1 or got[0]["retain"]:
            problems.append("mosquitto payload/qos/retain differ")
        users = self.b.usernames(client_id)
        agent = ""
        prefix = f"localhost/{client_id}/?api-version=2021-04-12&DeviceClientType="
        if not users or not users[-1].startswith(prefix + "iotsec%2F" + version()):
            problems.append(f"mosquitto saw username {users[-1] if users else None!r}")
        else:
            agent = urllib.parse.unquote(users[-1][len(prefix):])

        # the local hub (SAS checked; its own device/module per language)
        cs = self.b.add_device(device, module)
        cmd, extra = lang.snippet_command(cs, VALID_BODY)
        extra.update({"IOTSEC_CA_FILE": self.b.hub["ca_file"], "IOTSEC_MQTT_PORT": str(self.b.hub["tls_port"])})
        out = lang.drive("snippet", [], extra, cmd)
        if out != [{"check": "snippet", "ok": True}]:
            problems.append(f"hub: the driver reported {out}")
        events = len(json.loads(body)["Events"])
        stored = self.b.hub_records("security.jsonl", device, module)
        dropped = self.b.hub_records("dropped.jsonl", device, module)
        if len(stored) != events or any(r["topic"] != expected_topic for r in stored):
            problems.append(f"hub stored {len(stored)} security events (expected {events}) with topics {[r['topic'] for r in stored]}")
        if dropped:
            problems.append(f"hub dropped {len(dropped)}: {dropped[0].get('violations')}")
        if problems:
            raise Failure("; ".join(problems))
        return f"mosquitto + hub; user agent {agent}"

    # ---- wire vectors
    def wire_vectors(self, lang: Language) -> str:
        cases = wire_cases()
        expected_sent = [c for c in cases if "topic" in c]
        offset = len(self.b.received())
        out = lang.drive("wire", [str(VECTORS / "wire"), self.b.mosquitto["ca_file"], str(self.b.mosquitto["tls_port"])])
        got = self.b.received_since(offset, len(expected_sent), timeout=30)
        reported = {o.get("name"): o for o in out}
        problems: List[str] = []
        mine: Dict[str, Any] = {}
        # What the driver reported for each case.
        for c in cases:
            r = reported.get(c["name"])
            if r is None:
                problems.append(f"{c['name']!r}: no outcome reported")
            elif "error" in c and r.get("error") != c["error"]:
                problems.append(f"{c['name']!r}: expected error {c['error']}, got {r}")
            elif "topic" in c and r.get("result") != "sent":
                problems.append(f"{c['name']!r}: send failed: {r.get('error')} {r.get('message', '')[:120]}")
            if r is not None and "error" in r:
                mine[c["name"]] = ("error", r["error"])
        # What mosquitto received. Each send waited for its PUBACK before the next, so the
        # records are in send order: pair them with the cases the driver reported as sent.
        sent = [c for c in cases if reported.get(c["name"], {}).get("result") == "sent"]
        if len(got) == len(sent):
            for c, g in zip(sent, got):
                mine[c["name"]] = ("sent", g["topic"], g["payload_base64"], g["qos"], g["retain"])
                if "topic" not in c:
                    continue  # already reported: an error case that was sent
                if g["topic"] != c["topic"]:
                    problems.append(f"{c['name']!r}: topic differs {where_differs(g['topic'], c['topic'])}")
                elif base64.b64decode(g["payload_base64"]) != wire_body(c["message"]):
                    problems.append(f"{c['name']!r}: payload differs ({len(base64.b64decode(g['payload_base64']))} bytes)")
                if g["qos"] != 1 or g["retain"]:
                    problems.append(f"{c['name']!r}: qos {g['qos']} retain {g['retain']}")
        else:
            problems.append(f"mosquitto received {len(got)} messages for {len(sent)} sends")
            topics = [g["topic"] for g in got]
            for c in sent:
                if c.get("topic") not in topics:
                    problems.append(f"{c['name']!r}: mosquitto did not receive {str(c.get('topic'))[:160]!r}")
        self.wire[lang.name] = mine
        golden = [c for c in expected_sent if c.get("golden")]
        golden_ok = sum(1 for c in golden if mine.get(c["name"]) == ("sent", c["topic"], base64.b64encode(wire_body(c["message"])).decode(), 1, False))
        if golden_ok != len(golden):
            problems.append(f"golden vectors: {golden_ok}/{len(golden)} byte-exact")
        if problems:
            raise Failure(f"{len(problems)} miss(es): " + "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else ""))
        errors = len(cases) - len(expected_sent)
        return f"{len(cases)}/{len(cases)} ({len(expected_sent)} sent byte-exact, golden {golden_ok}/{len(golden)}, {errors} refused as expected)"

    # ---- schema vectors
    def schema_vectors(self, lang: Language) -> str:
        cases = schema_cases()
        out = lang.drive("schema", [str(VECTORS / "schema")])
        reported = {(o.get("file"), o.get("name")): o for o in out}
        problems: List[str] = []
        mine: Dict[Tuple[str, str], Any] = {}
        for c in cases:
            key = (c["__file"], c["name"])
            r = reported.get(key)
            if r is None:
                problems.append(f"{key}: no result")
                continue
            got = [tuple(v[:2]) for v in r.get("violations") or []]
            positions = [v[2] if len(v) > 2 else None for v in r.get("violations") or []]
            mine[key] = (r.get("is_valid"), [list(v) for v in r.get("violations") or []])
            want = [(v["pointer"], v["rule"]) for v in c.get("violations", [])]
            if r.get("is_valid") is not c["valid"]:
                problems.append(f"{c['name']!r}: is_valid {r.get('is_valid')}, expected {c['valid']}")
            if got != want:
                problems.append(f"{c['name']!r}: violations {got}, expected {want}")
            for i, v in enumerate(c.get("violations", [])):
                if "position" in v and i < len(positions):
                    p = v["position"]
                    if positions[i] != [p["offset"], p["line"], p["column"]]:
                        problems.append(f"{c['name']!r}: position {positions[i]}, expected {p}")
        self.schema[lang.name] = mine
        if problems:
            raise Failure(f"{len(problems)} miss(es): " + "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else ""))
        invalid = sum(1 for c in cases if not c["valid"])
        return f"{len(cases)}/{len(cases)} ({len(cases) - invalid} valid, {invalid} invalid with exact pointers)"

    # ---- bad input
    def bad_input(self, lang: Language) -> str:
        offset = len(self.b.received())
        real = self.b.add_device(f"conf-bad-{lang.name}", None)
        forged = real.split("SharedAccessKey=")[0] + "SharedAccessKey=" + FORGED_KEY
        out = lang.drive("bad", [self.b.mosquitto["ca_file"], str(self.b.mosquitto["tls_port"]), str(INVALID_BODY),
                                 self.b.mosquitto["wrong_ca_file"], self.b.hub["ca_file"], str(self.b.hub["tls_port"]), forged])
        reported = {o.get("check"): o for o in out}
        problems = []
        normalized = {}
        for check, (kind, secrets) in BAD_INPUT.items():
            kind = BAD_INPUT_BY_LANGUAGE.get(lang.name, {}).get(check, kind)
            r = reported.get(check)
            if r is None:
                problems.append(f"{check}: no outcome")
                continue
            normalized[check] = BAD_INPUT[check][0] if r.get("error") == kind else r.get("error")
            if "sdk_result" in r and r["sdk_result"] != C_SDK_RESULTS.get(check):
                problems.append(f"{check}: returned {r['sdk_result']}, expected {C_SDK_RESULTS.get(check)}")
            if r.get("error") != kind:
                problems.append(f"{check}: {r.get('error')} ({(r.get('message') or '')[:100]}), expected {kind}")
            real_key = real.split("SharedAccessKey=")[1]
            for s in secrets + ([real_key] if check == "credential_refused_by_hub" else []):
                if s in (r.get("message") or ""):
                    problems.append(f"{check}: the message shows a secret")
            if check in BAD_INPUT_VIOLATIONS and r.get("violations") != BAD_INPUT_VIOLATIONS[check]:
                problems.append(f"{check}: violations {r.get('violations')}, expected {BAD_INPUT_VIOLATIONS[check]}")
        self.bad[lang.name] = normalized
        leaked = [g["topic"] for g in self.b.received_since(offset, 0, timeout=0) if f"/conf-bad-{lang.name}/" in "/" + g["topic"]]
        if leaked:
            problems.append(f"refused messages reached mosquitto: {leaked}")
        if problems:
            raise Failure("; ".join(problems))
        differences = BAD_INPUT_BY_LANGUAGE.get(lang.name, {})
        note = "".join(f"; {k}: {v}, as documented" for k, v in differences.items())
        return f"{len(BAD_INPUT)}/{len(BAD_INPUT)} kinds as documented, no secret in any message, nothing sent{note}"

    # ---- one language
    def language(self, lang: Language) -> None:
        log(f"{lang.name}: install")
        if not self.cell(lang.name, "install", lang.install):
            for check in CHECKS[1:]:
                self.cells[(lang.name, check)] = (False, "not run: not installed")
            return
        self.cell(lang.name, "snippet", lambda: self.snippet(lang))
        self.cell(lang.name, "wire vectors", lambda: self.wire_vectors(lang))
        self.cell(lang.name, "schema vectors", lambda: self.schema_vectors(lang))
        self.cell(lang.name, "bad input", lambda: self.bad_input(lang))

    # ---- across languages
    def cross_language(self) -> List[Tuple[bool, str]]:
        results = []

        def compare(what: str, per_lang: Dict[str, Dict[Any, Any]]) -> None:
            langs = [l for l in per_lang if per_lang[l]]
            if len(langs) < 2:
                results.append((len(langs) == len(self.languages) == 1, f"{what}: only {', '.join(langs) or 'no language'} produced results"))
                return
            keys = sorted(set().union(*[set(per_lang[l]) for l in langs]), key=str)
            differing = []
            for k in keys:
                values = {l: json.dumps(per_lang[l].get(k), sort_keys=True) for l in langs}
                if len(set(values.values())) > 1:
                    differing.append(k)
            if differing:
                results.append((False, f"{what}: {len(differing)} of {len(keys)} differ between languages, e.g. {differing[0]}"))
            else:
                results.append((True, f"{what}: {len(keys)} identical in {len(langs)} languages ({', '.join(langs)})"))

        compare("wire vectors (topic + payload bytes as mosquitto received them, error kinds)", self.wire)
        golden = {l: {k: v for k, v in w.items() if k in {c['name'] for c in wire_cases() if c.get('golden')}} for l, w in self.wire.items()}
        compare("golden vectors of WIRE.md", golden)
        compare("schema vectors (verdict, pointers, rules, positions)", self.schema)
        compare("bad input (error kinds; C's send after Destroy counted as its documented equivalent)", self.bad)
        return results

    def matrix(self) -> str:
        width = {c: max(len(c), 4) for c in CHECKS}
        for (lang, check), (ok, note) in self.cells.items():
            width[check] = max(width[check], 4)
        lines = []
        header = f"{'language':<9}" + "".join(f" | {c:<{width[c]}}" for c in CHECKS)
        lines.append(header)
        lines.append("-" * len(header))
        for lang in [l.name for l in self.languages]:
            row = f"{lang:<9}"
            for c in CHECKS:
                ok, _ = self.cells.get((lang, c), (False, "not run"))
                row += f" | {('pass' if ok else 'FAIL'):<{width[c]}}"
            lines.append(row)
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated languages (default: all six)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else LANGUAGES
    for n in names:
        if n not in LANGUAGE_CLASSES:
            raise SystemExit(f"unknown language {n!r}; known: {', '.join(LANGUAGES)}")
    started = time.time()
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "logs", ignore_errors=True)
    (WORK / "logs").mkdir()
    brokers = Brokers()
    try:
        languages = [LANGUAGE_CLASSES[n]() for n in names]
        suite = Suite(brokers, languages)
        for lang in languages:
            suite.language(lang)
        cross = suite.cross_language()
    finally:
        brokers.stop()

    wire_n = len(wire_cases())
    schema_n = len(schema_cases())
    print()
    print(f"iotsec conformance: {len(names)} languages x {len(CHECKS)} checks; {wire_n} wire vectors, {schema_n} schema vectors, "
          f"{len(BAD_INPUT)} bad-input checks")
    print()
    print(suite.matrix())
    print()
    for name in names:
        for c in CHECKS:
            ok, note = suite.cells.get((name, c), (False, "not run"))
            print(f"  {'ok  ' if ok else 'FAIL'} {name:<7} {c:<15} {note}")
    print()
    print("across languages:")
    for ok, note in cross:
        print(f"  {'ok  ' if ok else 'FAIL'} {note}")
    failed_cells = sum(1 for ok, _ in suite.cells.values() if not ok)
    failed_cross = sum(1 for ok, _ in cross if not ok)
    passed_cells = sum(1 for ok, _ in suite.cells.values() if ok)
    report = {
        "cells": {f"{l} / {c}": {"ok": ok, "note": n} for (l, c), (ok, n) in suite.cells.items()},
        "cross_language": [{"ok": ok, "note": n} for ok, n in cross],
        "timings_s": {k: round(v, 2) for k, v in suite.timings.items()},
        "total_s": round(time.time() - started, 1),
    }
    (WORK / "report.json").write_text(json.dumps(report, indent=2))
    print()
    print(f"conformance: {passed_cells + len(cross) - failed_cross} passed, {failed_cells + failed_cross} failed "
          f"({time.time() - started:.0f} s; details in {WORK / 'report.json'} and {WORK / 'logs'})")
    return 1 if failed_cells or failed_cross else 0


if __name__ == "__main__":
    sys.exit(main())
