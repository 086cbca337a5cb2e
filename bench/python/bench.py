#!/usr/bin/env python3
"""Send throughput of the Python package against the raw rumqttc floor and the official SDK.

    python3 bench/python/bench.py [--count 5000] [--repeat 3] [--inflight 100] [--skip-official]

What it does, all on 127.0.0.1:
1. ``target/release/iotsec-testkit up`` makes the TLS certificates (its own mosquitto is stopped
   again); the script then runs one mosquitto with two TLS listeners, a free port and 8883 (the
   official SDK always connects to 8883), ``set_tcp_nodelay true``, no subscriber attached.
2. The floor: ``bench_send`` (core/examples/bench_send.rs) in modes raw-await and raw-pipelined:
   rumqttc alone, the same 499-byte body (tests/vectors/guide/bench_message.json), the same topic;
   and, for reference, the Rust core client itself (modes await and pipelined).
3. iotsec (the wheel, installed in target/bench-python/iotsec-venv) and azure-iot-device 2.14.0
   (from PyPI, in target/bench-python/azure-venv), each in a fresh process per run:
   (a) ``await client.send_message(m)`` one after another, (b) ``asyncio.gather`` of all N.
Reported: messages/second, CPU time of the client process per message (user + system, all its
threads), peak RSS of the process, and ratios to the floor and to the official SDK. Each
configuration runs ``--repeat`` times, interleaved; the median is reported.

This is a benchmark, not a test: it asserts nothing, it measures.
"""

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
RELEASE = TARGET / "release"
WORK = TARGET / "bench-python"
BODY_FILE = ROOT / "tests" / "vectors" / "guide" / "bench_message.json"
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
OFFICIAL = "azure-iot-device==2.14.0"


# ---- the worker: runs inside a venv, one configuration per process ---------------------------


def vm_hwm_kb() -> int:
    """Peak resident set of this process image (VmHWM; unlike ru_maxrss it starts again at exec,
    so a parent's memory before the exec is not counted)."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def per_call_ns(f: Any) -> float:
    """Nanoseconds per call of f(): the best of 5 timed loops of at least 0.2 s each."""
    n, best = 1000, float("inf")
    for _ in range(5):
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            elapsed = time.perf_counter() - t0
            if elapsed >= 0.2:
                best = min(best, elapsed / n)
                break
            n *= 2
    return best * 1e9


def overhead(args: argparse.Namespace) -> None:
    """Per-call costs in Python: message + security flag (+ message id); validation (iotsec)."""
    body = BODY_FILE.read_text()
    result: Dict[str, Any] = {}
    if args.worker == "iotsec":
        import iotsec
        import iotsec.security as security

        Message: Any = iotsec.Message
    else:
        from azure.iot.device import Message  # type: ignore[no-redef]

    def create() -> None:
        m = Message(body)
        m.set_as_security_message()

    def create_mid() -> None:
        m = Message(body)
        m.message_id = "m12345"
        m.set_as_security_message()

    result["create_flag_ns"] = per_call_ns(create)
    result["create_flag_mid_ns"] = per_call_ns(create_mid)
    if args.worker == "iotsec":
        assert security.validate(body) == [] and security.is_valid(body)
        result["validate_ns"] = per_call_ns(lambda: security.validate(body))
        result["is_valid_ns"] = per_call_ns(lambda: security.is_valid(body))
    print(json.dumps(result))


def worker(args: argparse.Namespace) -> None:
    """One client, one mode, one process: connect, ``--warmup`` messages (ids w0...), then
    ``--count`` measured ones (ids m0...); prints one JSON line."""
    import asyncio
    import resource

    if args.overhead:
        overhead(args)
        return
    body = BODY_FILE.read_text()
    conn_str = f"HostName=localhost;DeviceId={args.device};SharedAccessKey={KEY}"

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)  # the whole process, every thread
        return r.ru_utime + r.ru_stime

    result: Dict[str, Any] = {}

    if args.worker == "iotsec":
        import iotsec
        import iotsec.aio as aio

        def make_client() -> Any:
            return aio.IoTHubDeviceClient.create_from_connection_string(
                conn_str, port=args.port, ca_file=args.ca, max_in_flight=args.inflight
            )

        make_message: Any = iotsec.Message
    else:
        from azure.iot.device import Message as AzureMessage
        from azure.iot.device.aio import IoTHubDeviceClient as AzureClient

        pem = pathlib.Path(args.ca).read_text()

        def make_client() -> Any:
            # The official SDK always connects to port 8883.
            return AzureClient.create_from_connection_string(conn_str, server_verification_cert=pem)

        make_message = AzureMessage

    def message(mid: str) -> Any:
        m = make_message(body)
        m.message_id = mid
        m.set_as_security_message()
        return m

    async def send(client: Any, prefix: str, count: int) -> None:
        if args.mode == "await":
            for i in range(count):
                await client.send_message(message(f"{prefix}{i}"))
        else:
            await asyncio.gather(*[client.send_message(message(f"{prefix}{i}")) for i in range(count)])

    async def run() -> None:
        t0 = time.perf_counter()
        client = make_client()
        await client.connect()
        result["connect_ms"] = (time.perf_counter() - t0) * 1e3
        await send(client, "w", args.warmup)
        c0, t1 = cpu(), time.perf_counter()
        await send(client, "m", args.count)
        elapsed, used = time.perf_counter() - t1, cpu() - c0
        n = args.count
        result.update(seconds=elapsed, msgs_per_sec=n / elapsed, cpu_us_per_msg=used / n * 1e6)
        await client.shutdown()

    asyncio.run(run())
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["vm_hwm_kb"] = vm_hwm_kb()
    print(json.dumps(result))


# ---- the driver ---------------------------------------------------------------------------------


def log(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
        time.sleep(0.05)


def make_certificates(directory: pathlib.Path) -> Dict[str, Any]:
    """iotsec-testkit makes the CA and the server certificate (localhost, 127.0.0.1)."""
    testkit = RELEASE / "iotsec-testkit"
    if not testkit.exists():
        log("building iotsec-testkit")
        subprocess.run(["cargo", "build", "--release", "-p", "iotsec-testkit"], cwd=ROOT, check=True)
    proc = subprocess.Popen([str(testkit), "up", "--dir", str(directory)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        env_file = directory / "env.json"
        deadline = time.monotonic() + 30
        while not env_file.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("iotsec-testkit did not start")
            time.sleep(0.05)
        time.sleep(0.1)
        env: Dict[str, Any] = json.loads(env_file.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)  # stops its mosquitto; the certificates stay
        proc.wait(timeout=30)
    pki = pathlib.Path(env["ca_file"]).parent
    return {"ca": str(pki / "ca.pem"), "cert": str(pki / "server.pem"), "key": str(pki / "server.key")}


class Broker:
    """mosquitto with TLS on a free port and on 8883, tuned as PITFALLS.md says."""

    def __init__(self, directory: pathlib.Path, pki: Dict[str, Any], with_8883: bool) -> None:
        self.port = free_port()
        user = "user root\n" if os.geteuid() == 0 else ""
        listeners = [self.port] + ([8883] if with_8883 else [])
        config = (
            f"{user}per_listener_settings false\nallow_anonymous true\npersistence false\n"
            f"log_dest file {directory / 'mosquitto.log'}\nset_tcp_nodelay true\n"
            "max_inflight_messages 0\nmax_queued_messages 0\n"
        )
        for port in listeners:
            config += f"listener {port} 127.0.0.1\ncertfile {pki['cert']}\nkeyfile {pki['key']}\n"
        conf = directory / "bench-mosquitto.conf"
        conf.write_text(config)
        binary = next((p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), "mosquitto")
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in listeners:
            wait_listening(port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def venv(path: pathlib.Path, packages: List[str]) -> pathlib.Path:
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
                   check=True)
    return python


def iotsec_python(args: argparse.Namespace) -> pathlib.Path:
    wheels = sorted((TARGET / "wheels").glob("iotsec-*-cp39-abi3-*.whl"), key=lambda p: p.stat().st_mtime)
    if args.rebuild or not wheels:
        log("building the wheel (maturin --release)")
        maturin = TARGET / "venv" / "bin" / "maturin"
        if not maturin.exists():
            subprocess.run([str(ROOT / "scripts" / "install-deps.sh")], check=True)
        subprocess.run([str(maturin), "build", "--release", "-m", "bindings-python/Cargo.toml", "--out",
                        str(TARGET / "wheels")], cwd=ROOT, check=True)
        wheels = sorted((TARGET / "wheels").glob("iotsec-*-cp39-abi3-*.whl"), key=lambda p: p.stat().st_mtime)
    log(f"iotsec from {wheels[-1].name}")
    return venv(WORK / "iotsec-venv", ["--force-reinstall", "--no-deps", str(wheels[-1])])


def floor(args: argparse.Namespace, broker: Broker, ca: str) -> Dict[str, Dict[str, float]]:
    binary = RELEASE / "examples" / "bench_send"
    if not binary.exists():
        log("building the floor (cargo build --release -p iotsec --example bench_send)")
        subprocess.run(["cargo", "build", "--release", "-p", "iotsec", "--example", "bench_send"], cwd=ROOT,
                       check=True)
    out = subprocess.run(
        [str(binary), "--port", str(broker.port), "--ca", ca, "--count", str(args.count), "--inflight",
         str(args.inflight), "--modes", "raw-await,raw-pipelined,await,pipelined", "--json"],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["mode"]: r for r in rows}


def run_worker(python: pathlib.Path, kind: str, mode: str, args: argparse.Namespace, broker: Broker, ca: str,
               run: int) -> Dict[str, Any]:
    port = broker.port if kind == "iotsec" else 8883
    cmd = [str(python), __file__, "--worker", kind, "--mode", mode, "--port", str(port), "--ca", ca, "--count",
           str(args.count), "--inflight", str(args.inflight), "--device", f"bench-py-{kind}-{mode}-{run}",
           "--warmup", str(min(1000, max(10, args.count // 20)))]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} {mode} failed:\n{out.stdout}\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def median(rows: List[Dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--inflight", type=int, default=100)
    p.add_argument("--skip-official", action="store_true", help="do not install or run azure-iot-device")
    p.add_argument("--rebuild", action="store_true", help="rebuild the wheel first")
    p.add_argument("--json", action="store_true", help="print the medians as one JSON object too")
    p.add_argument("--iotsec-python", help="a Python that already has iotsec installed (skips the wheel)")
    # worker mode (internal)
    p.add_argument("--worker", choices=["iotsec", "azure"])
    p.add_argument("--mode", choices=["await", "gather"])
    p.add_argument("--port", type=int)
    p.add_argument("--ca")
    p.add_argument("--device")
    p.add_argument("--warmup", type=int, default=0, help="worker: warm-up messages before the measured ones")
    p.add_argument("--overhead", action="store_true", help="worker: per-call costs instead of sending")
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    WORK.mkdir(parents=True, exist_ok=True)
    official = not args.skip_official
    if official and port_in_use(8883):
        log("port 8883 is taken on 127.0.0.1: the official SDK cannot be measured now (use --skip-official)")
        official = False
    py_iotsec = pathlib.Path(args.iotsec_python) if args.iotsec_python else iotsec_python(args)
    py_azure: Optional[pathlib.Path] = None
    if official:
        log(f"installing {OFFICIAL} into {WORK / 'azure-venv'}")
        py_azure = venv(WORK / "azure-venv", [OFFICIAL])

    directory = pathlib.Path(tempfile.mkdtemp(prefix="iotsec-pybench-", dir=WORK))
    pki = make_certificates(directory / "testkit")
    broker = Broker(directory, pki, with_8883=official)
    log(f"mosquitto on 127.0.0.1:{broker.port}" + (" and :8883" if official else ""))
    results: Dict[str, List[Dict[str, Any]]] = {}
    try:
        configs = [("iotsec", "await"), ("iotsec", "gather")]
        if official:
            configs += [("azure", "await"), ("azure", "gather")]
        floors: List[Dict[str, Dict[str, float]]] = []
        for run in range(args.repeat):
            log(f"round {run + 1}/{args.repeat}: floor")
            floors.append(floor(args, broker, pki["ca"]))
            for kind, mode in configs:
                log(f"round {run + 1}/{args.repeat}: {kind} {mode}")
                python = py_iotsec if kind == "iotsec" else py_azure
                assert python is not None
                results.setdefault(f"{kind}-{mode}", []).append(run_worker(python, kind, mode, args, broker, pki["ca"], run))
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)

    rust_modes = ("raw-await", "raw-pipelined", "await", "pipelined")
    floor_rate = {m: statistics.median(f[m]["msgs_per_sec"] for f in floors) for m in rust_modes}
    floor_cpu = {m: statistics.median(f[m]["cpu_us_per_msg"] for f in floors) for m in rust_modes}
    summary: Dict[str, Any] = {"count": args.count, "inflight": args.inflight, "repeat": args.repeat,
                               "rust": {m: {"msgs_per_sec": floor_rate[m], "cpu_us_per_msg": floor_cpu[m]}
                                        for m in floor_rate}}
    print()
    print(f"{args.count} guide-sized security messages (499 bytes) over TLS to mosquitto on 127.0.0.1, "
          f"median of {args.repeat} runs")
    print(f"{'':24}{'msg/s':>10}{'CPU µs/msg':>12}{'peak RSS':>11}{'vs floor':>10}{'vs SDK':>9}")
    for mode, label in (("raw-await", "raw rumqttc, await each"), ("raw-pipelined", f"raw rumqttc, {args.inflight} in flight")):
        print(f"{label:24}{floor_rate[mode]:>10.0f}{floor_cpu[mode]:>12.1f}{'':>11}{'1.00x':>10}")
    for mode, label, base in (("await", "core (Rust), await each", "raw-await"),
                              ("pipelined", "core (Rust), pipelined", "raw-pipelined")):
        ratio = floor_rate[mode] / floor_rate[base]
        print(f"{label:24}{floor_rate[mode]:>10.0f}{floor_cpu[mode]:>12.1f}{'':>11}{ratio:>9.2f}x")
    for mode in ("await", "gather"):
        floor_mode = "raw-await" if mode == "await" else "raw-pipelined"
        sdk = results.get(f"azure-{mode}")
        for kind in ("iotsec", "azure"):
            rows = results.get(f"{kind}-{mode}")
            if not rows:
                continue
            rate, cpu, rss = median(rows, "msgs_per_sec"), median(rows, "cpu_us_per_msg"), median(rows, "peak_rss_kb")
            vs_sdk = f"{rate / median(sdk, 'msgs_per_sec'):.2f}x" if sdk else "-"
            label = f"{'iotsec' if kind == 'iotsec' else 'azure-iot-device'} {'await each' if mode == 'await' else 'gather'}"
            print(f"{label:24}{rate:>10.0f}{cpu:>12.1f}{rss / 1024:>9.1f}MB{rate / floor_rate[floor_mode]:>9.2f}x{vs_sdk:>9}")
            summary[f"{kind}-{mode}"] = {"msgs_per_sec": rate, "cpu_us_per_msg": cpu, "peak_rss_kb": rss,
                                         "ratio_to_floor": rate / floor_rate[floor_mode],
                                         "runs": [round(r["msgs_per_sec"]) for r in rows]}
            if sdk:
                summary[f"{kind}-{mode}"]["ratio_to_official"] = rate / median(sdk, "msgs_per_sec")
    costs = subprocess.run([str(py_iotsec), __file__, "--worker", "iotsec", "--overhead"], check=True, capture_output=True,
                           text=True).stdout.strip().splitlines()[-1]
    create = json.loads(costs)["create_flag_ns"] / 1000
    summary["iotsec_message_create_us"] = create
    print(f"iotsec Message(data) + set_as_security_message(): {create:.2f} µs")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
