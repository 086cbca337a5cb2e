#!/usr/bin/env python3
"""The benchmark driver behind bench/run.sh (run that; it builds and installs what this needs).

One mosquitto (TLS on 127.0.0.1:8883, where the official SDKs insist on connecting; a plain
listener for the counting subscriber; ``set_tcp_nodelay true``), one counting subscriber
(``iotsec-bench subscribe``), and, for each client and each mode, a fresh child process that
connects, sends W warm-up and N measured guide-sized security messages (each with its own message
id) and prints one JSON line. After every run the subscriber must have seen exactly the N + W
distinct message ids of that run, or the run (and the benchmark) fails.

Modes: ``await`` (each send awaited before the next) and ``pipelined`` (all sends issued, then all
awaited; iotsec keeps 100 PUBLISHes in flight, the SDKs their own default).

Rounds: the machine is shared and noisy. Every round runs every client in both modes; every
iotsec run is paired with a raw rumqttc run right next to it (the floor), and with the official
SDK's run of the same language. Ratios are the median of the per-round ratios of those pairs;
rates, CPU, memory and connect times are medians over rounds.

Writes ``target/bench/results.json``, the report (``docs/benchmarks.md`` unless ``--quick``) and
its chart (``docs/benchmarks.png``, matplotlib from ``target/bench/plot-venv``).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "target"
WORK = TARGET / "bench"
RELEASE = TARGET / "release"
BODY = ROOT / "tests" / "vectors" / "guide" / "bench_message.json"
BENCH_BIN = RELEASE / "iotsec-bench"
OFFICIAL_PORT = 8883
MODES = ("await", "pipelined")
MODE_LABEL = {"await": "await each send", "pipelined": "pipelined"}

# Targets of issue 11 on this 2-core machine.
TARGET_RUST_RATIO = 0.9
TARGET_PACKAGE_RATIO = 0.8
TARGET_CPU_US = 20.0
TARGET_CREATE_US = 2.0


def log(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


class BenchFailure(Exception):
    pass


# ---- the clients ------------------------------------------------------------------------------


@dataclass
class Client:
    key: str
    language: str
    label: str
    kind: str  # floor | reference | iotsec | official
    command: Callable[[str, str, "Settings"], List[str]]
    overhead: Optional[List[str]] = None
    env: Dict[str, str] = field(default_factory=dict)
    official: Optional[str] = None  # key of the official SDK client of the same language
    unavailable: Optional[str] = None
    version: str = ""


@dataclass
class Settings:
    count: int
    warmup: int
    inflight: int
    ca: str
    port: int = OFFICIAL_PORT


def common(s: Settings, device: str) -> List[str]:
    return ["--port", str(s.port), "--ca", s.ca, "--count", str(s.count), "--warmup", str(s.warmup),
            "--inflight", str(s.inflight), "--device", device]


def reason(key: str) -> Optional[str]:
    """bench/run.sh leaves target/bench/unavailable/KEY.txt when it could not prepare a client."""
    f = WORK / "unavailable" / f"{key}.txt"
    return f.read_text().strip() if f.exists() else None


def clients() -> List[Client]:
    body = str(BODY)
    py_iotsec = WORK / "py-iotsec" / "bin" / "python"
    py_azure = WORK / "py-azure" / "bin" / "python"
    python_bench = str(ROOT / "bench" / "python" / "bench.py")
    node_bench = str(ROOT / "bench" / "node" / "bench.js")
    node_pkg = str(WORK / "node" / "iotsec")
    java_classes = str(WORK / "java" / "classes")
    java_native = str(WORK / "java" / "libiotsec_jni.so")
    java = ["java", "-Xss1m", f"-Diotsec.native.library={java_native}", "-cp", java_classes, "Bench"]
    cs_dir = WORK / "csharp"
    c_dir = WORK / "c"
    py_mode = {"await": "await", "pipelined": "gather"}
    node_mode = {"await": "await", "pipelined": "all"}
    java_mode = {"await": "java-await", "pipelined": "java-pipelined"}
    out = [
        Client("raw", "Rust", "raw rumqttc (floor)", "floor",
               lambda m, d, s: [str(BENCH_BIN), "send", "--client", "raw", "--mode", m, "--body", body, *common(s, d)]),
        Client("raw-main", "Rust", "raw rumqttc in #[tokio::main]", "reference",
               lambda m, d, s: [str(BENCH_BIN), "send", "--client", "raw-main", "--mode", m, "--body", body, *common(s, d)]),
        Client("rust", "Rust", "iotsec (Rust)", "iotsec",
               lambda m, d, s: [str(BENCH_BIN), "send", "--client", "iotsec", "--mode", m, "--body", body, *common(s, d)],
               overhead=[str(BENCH_BIN), "overhead", "--body", body]),
        Client("python", "Python", "iotsec (Python)", "iotsec",
               lambda m, d, s: [str(py_iotsec), python_bench, "--worker", "iotsec", "--mode", py_mode[m], *common(s, d)],
               overhead=[str(py_iotsec), python_bench, "--worker", "iotsec", "--overhead"], official="python-official"),
        Client("python-official", "Python", "azure-iot-device 2.14.0 (Python)", "official",
               lambda m, d, s: [str(py_azure), python_bench, "--worker", "azure", "--mode", py_mode[m], *common(s, d)],
               overhead=[str(py_azure), python_bench, "--worker", "azure", "--overhead"]),
        Client("node", "Node.js", "iotsec (Node.js)", "iotsec",
               lambda m, d, s: ["node", node_bench, "--child", "iotsec", "--package", node_pkg, "--mode", node_mode[m], *common(s, d)],
               overhead=["node", node_bench, "--child", "iotsec", "--package", node_pkg, "--overhead"], official="node-official"),
        Client("node-official", "Node.js", "azure-iot-device 1.18.4 (Node.js)", "official",
               lambda m, d, s: ["node", node_bench, "--child", "official", "--mode", node_mode[m], *common(s, d)],
               overhead=["node", node_bench, "--child", "official", "--overhead"]),
        Client("java", "Java", "iotsec (Java)", "iotsec",
               lambda m, d, s: [*java, "--modes", java_mode[m], "--body", body, *common(s, d)],
               overhead=[*java, "--overhead", "--body", body]),
        Client("csharp", "C#", "iotsec (C#)", "iotsec",
               lambda m, d, s: ["mono", "--server", str(cs_dir / "Bench.exe"), "--mode", m, "--body", body, *common(s, d)],
               overhead=["mono", "--server", str(cs_dir / "Bench.exe"), "--overhead", "--body", body],
               env={"LD_LIBRARY_PATH": str(WORK / "lib")}),
        Client("c", "C", "iotsec (C)", "iotsec",
               lambda m, d, s: [str(c_dir / "bench_c"), "--mode", m, "--body", body, *common(s, d)],
               overhead=[str(c_dir / "bench_c"), "--overhead", "--body", body],
               env={"LD_LIBRARY_PATH": str(WORK / "lib")}),
    ]
    needs = {
        "raw": BENCH_BIN, "raw-main": BENCH_BIN, "rust": BENCH_BIN, "python": py_iotsec, "python-official": py_azure,
        "node": Path(node_pkg) / "index.js",
        "node-official": ROOT / "bench" / "node" / "official" / "node_modules" / "azure-iot-device",
        "java": Path(java_classes) / "Bench.class", "csharp": cs_dir / "Bench.exe", "c": c_dir / "bench_c",
    }
    for c in out:
        c.unavailable = reason(c.key) or (None if needs[c.key].exists() else f"{needs[c.key]} is missing (bench/run.sh builds it)")
    return out


# ---- processes --------------------------------------------------------------------------------


_STARTED: List[subprocess.Popen] = []


def stop_started() -> None:
    for p in _STARTED:
        if p.poll() is None:
            p.terminate()
    for p in _STARTED:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


PERF = shutil.which("perf")
COUNT_SWITCHES = [bool(PERF)]


def run_child(argv: List[str], env: Dict[str, str], timeout: float) -> Dict[str, Any]:
    """Runs one child to its end; returns its last JSON line plus its peak RSS (wait4) and,
    with perf, its context switches (every thread, the whole process lifetime)."""
    full_env = dict(os.environ)
    full_env.update(env)
    stat_file = WORK / "run" / "perf-stat.txt"
    if COUNT_SWITCHES[0] and PERF:
        stat_file.unlink(missing_ok=True)
        argv = [PERF, "stat", "-x,", "-o", str(stat_file), "-e", "context-switches", "--", *argv]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=ROOT)
    out: List[bytes] = []
    err: List[bytes] = []
    readers = [threading.Thread(target=lambda: out.append(p.stdout.read())),  # type: ignore[union-attr]
               threading.Thread(target=lambda: err.append(p.stderr.read()))]  # type: ignore[union-attr]
    for t in readers:
        t.start()
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    stdout = b"".join(out).decode(errors="replace")
    stderr = b"".join(err).decode(errors="replace")
    if p.returncode != 0:
        raise BenchFailure(f"{' '.join(argv)}\nexited with {p.returncode}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchFailure(f"{' '.join(argv)}\nprinted no JSON line\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}")
    result: Dict[str, Any] = json.loads(lines[-1])
    # The child's own VmHWM: wait4's ru_maxrss would also count this driver's memory, which
    # the child shared between fork and exec.
    result["peak_rss_kb"] = result.get("vm_hwm_kb") or usage.ru_maxrss
    if COUNT_SWITCHES[0] and stat_file.exists():
        for line in stat_file.read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] == "context-switches" and fields[0].isdigit():
                result["context_switches"] = int(fields[0])
    return result


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchFailure(f"mosquitto does not listen on 127.0.0.1:{port}")
        time.sleep(0.05)


def certificates(directory: Path) -> Dict[str, str]:
    """iotsec-testkit makes the CA and the server certificate (localhost, 127.0.0.1); the
    mosquitto it starts meanwhile is stopped again at once."""
    proc = subprocess.Popen([str(RELEASE / "iotsec-testkit"), "up", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env_file = directory / "env.json"
        deadline = time.monotonic() + 60
        while not env_file.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise BenchFailure("iotsec-testkit up did not start (it makes the certificates)")
            time.sleep(0.05)
        env = json.loads(env_file.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    pki = Path(env["ca_file"]).parent
    return {"ca": str(pki / "ca.pem"), "cert": str(pki / "server.pem"), "key": str(pki / "server.key")}


class Broker:
    """One mosquitto: TLS on 127.0.0.1:8883 and a plain listener for the subscriber."""

    def __init__(self, directory: Path, pki: Dict[str, str]) -> None:
        self.plain_port = free_port()
        user = "user root\n" if os.geteuid() == 0 else ""
        config = (
            f"{user}per_listener_settings false\nallow_anonymous true\npersistence false\n"
            f"log_dest file {directory / 'mosquitto.log'}\nlog_type error\nlog_type warning\n"
            "connection_messages false\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 0\n"
            f"listener {self.plain_port} 127.0.0.1\n"
            f"listener {OFFICIAL_PORT} 127.0.0.1\ncertfile {pki['cert']}\nkeyfile {pki['key']}\n"
        )
        conf = directory / "mosquitto.conf"
        conf.write_text(config)
        binary = next((p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), "mosquitto")
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _STARTED.append(self.proc)
        wait_listening(OFFICIAL_PORT, self.proc)
        wait_listening(self.plain_port, self.proc)
        self.version = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.splitlines()[0]

    def cpu_seconds(self) -> float:
        """mosquitto's CPU time so far (user + system), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Subscriber:
    """iotsec-bench subscribe: counts the distinct message ids of every device."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen([str(BENCH_BIN), "subscribe", "--port", str(port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        _STARTED.append(self.proc)
        line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        if line != "ready":
            raise BenchFailure(f"the counting subscriber did not start (said {line!r})")

    def ask(self, command: str) -> Dict[str, Any]:
        if self.proc.poll() is not None:
            raise BenchFailure("the counting subscriber died")
        self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return dict(json.loads(self.proc.stdout.readline()))  # type: ignore[union-attr]

    def verify(self, device: str, n: int, w: int, stall: float = 15) -> Dict[str, Any]:
        """Waits until the subscriber saw exactly the run's N + W distinct ids; fails if the
        count stops moving for `stall` seconds first."""
        last, since = -1, time.monotonic()
        while True:
            r = self.ask(f"check {device} {n} {w}")
            if r["ok"]:
                self.ask(f"forget {device}")
                return r
            if r["other"] > 0 or r["timed"] > n or r["warm"] > w:
                raise BenchFailure(f"unexpected messages for {device}: {r}")
            if r["total"] != last:
                last, since = r["total"], time.monotonic()
            elif time.monotonic() - since > stall:
                raise BenchFailure(f"{device}: the subscriber counted {r['timed']} of {n} measured and {r['warm']} of {w} "
                                   f"warm-up messages, and no more arrived for {stall:.0f} s: {r}")
            time.sleep(0.02)


# ---- the run ----------------------------------------------------------------------------------


def median(values: List[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=20_000, help="measured messages per run (default 20,000)")
    p.add_argument("--warmup", type=int, help="warm-up messages per run (default count/20, at most 1,000)")
    p.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    p.add_argument("--inflight", type=int, default=100, help="iotsec's and the floor's in-flight window (default 100)")
    p.add_argument("--only", help="comma-separated client keys (raw is always run): raw-main,rust,python,python-official,"
                                  "node,node-official,java,csharp,c")
    p.add_argument("--modes", default="await,pipelined")
    p.add_argument("--quick", action="store_true", help="2,000 messages, 1 round; report under target/bench/")
    p.add_argument("--out", help="the report (default docs/benchmarks.md, or target/bench/benchmarks.md with --quick)")
    p.add_argument("--run-timeout", type=float, default=900)
    p.add_argument("--no-perf", action="store_true", help="do not count context switches with perf stat")
    p.add_argument("--report-only", metavar="RESULTS_JSON", help="only write the report and chart from an earlier results file")
    args = p.parse_args()
    if args.report_only:
        results = json.loads(Path(args.report_only).read_text())
        out_md = Path(args.out) if args.out else ROOT / "docs" / "benchmarks.md"
        keys = [c["key"] for c in results["clients"]]
        by_key = {c.key: c for c in clients() if c.key in keys}
        chart = out_md.with_suffix(".png")
        out_md.parent.mkdir(parents=True, exist_ok=True)
        plot(Path(args.report_only), chart)
        out_md.write_text(report(results, chart.name, by_key))
        log(f"report: {out_md} (chart {chart})")
        print(table_text(results, by_key))
        return 0
    if args.no_perf:
        COUNT_SWITCHES[0] = False
    if args.quick:
        args.count = min(args.count, 2_000) if args.count != 20_000 else 2_000
        args.rounds = 1
    warmup = args.warmup if args.warmup is not None else min(1_000, max(10, args.count // 20))
    out_md = Path(args.out) if args.out else (WORK / "benchmarks.md" if args.quick else ROOT / "docs" / "benchmarks.md")
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m}")

    everything = clients()
    wanted = set(args.only.split(",")) | {"raw"} if args.only else {c.key for c in everything}
    unknown = wanted - {c.key for c in everything}
    if unknown:
        p.error(f"unknown client(s): {', '.join(sorted(unknown))}")
    selected = [c for c in everything if c.key in wanted]
    for c in selected:
        if c.unavailable:
            log(f"{c.label}: not run: {c.unavailable}")
    running = [c for c in selected if not c.unavailable]
    floor = next(c for c in running if c.key == "raw") if any(c.key == "raw" for c in running) else None
    if floor is None:
        raise BenchFailure("the floor (target/release/iotsec-bench) is missing: run bench/run.sh")

    if port_in_use(OFFICIAL_PORT):
        raise BenchFailure(f"127.0.0.1:{OFFICIAL_PORT} is already in use. The official SDKs always connect to port "
                           f"{OFFICIAL_PORT}, so this benchmark needs it free: stop whatever listens there "
                           f"(`ss -ltnp 'sport = :{OFFICIAL_PORT}'` shows it) and run again.")

    directory = WORK / "run"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    pki = certificates(directory / "testkit")
    broker = Broker(directory, pki)
    log(f"mosquitto ({broker.version}) on 127.0.0.1:{OFFICIAL_PORT} (TLS) and :{broker.plain_port} (plain, subscriber)")
    subscriber = Subscriber(broker.plain_port)
    settings = Settings(count=args.count, warmup=warmup, inflight=args.inflight, ca=pki["ca"])
    machine = describe_machine(broker.version)
    started = time.time()
    runs: List[Dict[str, Any]] = []
    sequence = [0]

    def one(client: Client, mode: str, rnd: int) -> Dict[str, Any]:
        sequence[0] += 1
        device = f"bench-{sequence[0]:05d}"  # every run the same length: the same topic size
        b0 = broker.cpu_seconds()
        r = run_child(client.command(mode, device, settings), client.env, args.run_timeout)
        check = subscriber.verify(device, settings.count, settings.warmup)
        r.update(client=client.key, mode=mode, round=rnd, device=device, count=settings.count, warmup=settings.warmup, arrived=check["timed"], duplicates=check["total"] - check["timed"] - check["warm"],
                 broker_cpu_s=broker.cpu_seconds() - b0)
        runs.append(r)
        log(f"  {client.label:<36} {MODE_LABEL[mode]:<16} {r['msgs_per_sec']:>9.0f} msg/s  {r['cpu_us_per_msg']:>7.1f} µs CPU/msg  "
            f"{r['peak_rss_kb'] / 1024:>6.1f} MB  connect {r['connect_ms']:>6.1f} ms  ({check['timed']} of {settings.count} arrived)")
        return r

    try:
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}/{args.rounds}: {settings.count} messages per run (+{warmup} warm-up)")
            for mode in modes:
                for c in running:
                    if c.kind not in ("iotsec", "reference"):
                        continue
                    official = next((o for o in running if o.key == c.official), None)
                    # Alternate the order every round, keeping each pair side by side.
                    order: List[Client] = [floor, c] + ([official] if official else [])
                    if rnd % 2 == 1:
                        order.reverse()
                    for client in order:
                        one(client, mode, rnd)
        log("per-call overhead")
        overhead: Dict[str, Dict[str, float]] = {}
        for c in running:
            if c.overhead:
                overhead[c.key] = run_child(c.overhead, c.env, args.run_timeout)
                log(f"  {c.label:<36} {json.dumps({k: v for k, v in overhead[c.key].items() if k != 'peak_rss_kb'})}")
    finally:
        stop_started()
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "runs.json").write_text(json.dumps(runs, indent=1))

    summary = summarize(running, runs, modes)
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started),
        "count": settings.count, "warmup": warmup, "rounds": args.rounds, "inflight": args.inflight, "modes": modes,
        "body_bytes": BODY.stat().st_size, "machine": machine,
        "clients": [{"key": c.key, "language": c.language, "label": c.label, "kind": c.kind, "official": c.official}
                    for c in running],
        "not_run": {c.key: c.unavailable for c in selected if c.unavailable},
        "summary": summary, "overhead": overhead, "runs": runs,
    }
    WORK.mkdir(parents=True, exist_ok=True)
    results_file = WORK / ("results-quick.json" if args.quick else "results.json")
    results_file.write_text(json.dumps(results, indent=1))
    log(f"results: {results_file}")
    chart = out_md.with_suffix(".png")
    out_md.parent.mkdir(parents=True, exist_ok=True)
    plot(results_file, chart)
    out_md.write_text(report(results, chart.name, {c.key: c for c in running}))
    log(f"report: {out_md} (chart {chart})")
    print(table_text(results, {c.key: c for c in running}))
    return 0


def summarize(running: List[Client], runs: List[Dict[str, Any]], modes: List[str]) -> Dict[str, Any]:
    """Medians per client and mode; ratios as medians of per-round pairs."""
    out: Dict[str, Any] = {}
    for mode in modes:
        per: Dict[str, Any] = {}
        for c in running:
            rs = [r for r in runs if r["client"] == c.key and r["mode"] == mode]
            if not rs:
                continue
            s: Dict[str, Any] = {
                "msgs_per_sec": median([r["msgs_per_sec"] for r in rs]),
                "cpu_us_per_msg": median([r["cpu_us_per_msg"] for r in rs]),
                "peak_rss_mb": median([r["peak_rss_kb"] / 1024 for r in rs]),
                "connect_ms": median([r["connect_ms"] for r in rs]),
                "broker_cpu_us_per_msg": median([r["broker_cpu_s"] * 1e6 / r["count"] for r in rs]),
                "switches_per_msg": median([r["context_switches"] / (r["count"] + r.get("warmup", 0))
                                            for r in rs if "context_switches" in r]) if any("context_switches" in r for r in rs) else None,
                "rates": [round(r["msgs_per_sec"]) for r in rs],
                "runs": len(rs),
            }
            if c.kind in ("iotsec", "reference"):
                pairs = []
                for r in rs:
                    # The floor run of the same round and mode that ran right next to this one.
                    floors = [f for f in runs if f["client"] == "raw" and f["mode"] == mode and f["round"] == r["round"]]
                    nearest = min(floors, key=lambda f: abs(int(f["device"][6:]) - int(r["device"][6:])))
                    pairs.append(r["msgs_per_sec"] / nearest["msgs_per_sec"])
                s["ratio_to_raw"] = median(pairs)
                s["ratios_to_raw"] = [round(x, 3) for x in pairs]
                if c.official:
                    offs = {f["round"]: f for f in runs if f["client"] == c.official and f["mode"] == mode}
                    pairs = [r["msgs_per_sec"] / offs[r["round"]]["msgs_per_sec"] for r in rs if r["round"] in offs]
                    if pairs:
                        s["ratio_to_official"] = median(pairs)
            per[c.key] = s
        floor = per.get("raw")
        for key, s in per.items():
            if "ratio_to_raw" not in s and floor:
                s["ratio_to_raw"] = s["msgs_per_sec"] / floor["msgs_per_sec"]
        out[mode] = per
    return out


# ---- the report -------------------------------------------------------------------------------


def sh(*cmd: str) -> str:
    try:
        r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def describe_machine(mosquitto: str) -> Dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    os_name = "?"
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    py_azure = WORK / "py-azure" / "bin" / "python"
    py_iotsec = WORK / "py-iotsec" / "bin" / "python"
    wakeup = "-"
    if (WORK / "c" / "wakeup").exists():
        w = json.loads(subprocess.run([str(WORK / "c" / "wakeup")], capture_output=True, text=True, timeout=120).stdout)
        wakeup = f"{w['wakeup_us_cross_cpu']:.1f} µs to wake a thread on the other CPU, {w['wakeup_us_same_cpu']:.1f} µs on the same CPU"
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": os_name,
        "kernel": platform.release(),
        "load average before the run (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "thread wake-up (bench/c/wakeup.c)": wakeup,
        "rustc": sh("rustc", "--version"),
        "python": sh(str(py_iotsec) if py_iotsec.exists() else sys.executable, "--version"),
        "node": sh("node", "--version"),
        "java": sh("java", "-version"),
        "mono": sh("mono", "--version"),
        "gcc": sh("gcc", "--version"),
        "mosquitto": mosquitto,
        "iotsec": re.search(r'^version = "(.*)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1),  # type: ignore[union-attr]
        "git": sh("git", "-C", str(ROOT), "describe", "--always", "--dirty"),
        "azure-iot-device (Python)": sh(str(py_azure), "-c", "import importlib.metadata as m; print(m.version('azure-iot-device'))")
        if py_azure.exists() else "-",
        "azure-iot-device (Node.js)": node_version("azure-iot-device"),
        "azure-iot-device-mqtt (Node.js)": node_version("azure-iot-device-mqtt"),
    }


def node_version(package: str) -> str:
    f = ROOT / "bench" / "node" / "official" / "node_modules" / package / "package.json"
    return json.loads(f.read_text())["version"] if f.exists() else "-"


def plot(results_file: Path, chart: Path) -> None:
    python = WORK / "plot-venv" / "bin" / "python"
    if not python.exists():
        log(f"no matplotlib ({python} is missing): no chart")
        return
    if subprocess.run([str(python), str(ROOT / "bench" / "plot.py"), str(results_file), str(chart)]).returncode != 0:
        log("the chart failed (see above); the report is written without a fresh one")


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ratio(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.2f}×"


def mark(ok: Optional[bool]) -> str:
    return "" if ok is None else (" ✅" if ok else " ❌")


def rows(results: Dict[str, Any], by_key: Dict[str, Client], mode: str) -> List[List[str]]:
    per = results["summary"].get(mode, {})
    out = []
    official_of = {c.official: c.key for c in by_key.values() if c.official}
    for key, c in by_key.items():
        s = per.get(key)
        if not s:
            continue
        ratio = s.get("ratio_to_raw")
        if c.kind == "floor":
            ratio_ok: Optional[bool] = None
        else:
            target = TARGET_RUST_RATIO if key == "rust" else TARGET_PACKAGE_RATIO
            ratio_ok = ratio >= target if c.kind == "iotsec" else None
        cpu_ok = s["cpu_us_per_msg"] <= TARGET_CPU_US if c.kind == "iotsec" and key != "rust" else None
        rss_ok = None
        if c.official and c.official in per:
            rss_ok = s["peak_rss_mb"] < per[c.official]["peak_rss_mb"]
        vs_official = s.get("ratio_to_official")
        if c.kind == "official" and key in official_of and official_of[key] in per:
            vs_official = 1.0
        out.append([
            c.label,
            fmt_rate(s["msgs_per_sec"]),
            ("1.00× (floor)" if c.kind == "floor" else fmt_ratio(ratio) + mark(ratio_ok)),
            fmt_ratio(vs_official) if vs_official is not None else "—",
            f"{s['cpu_us_per_msg']:.1f}" + mark(cpu_ok),
            f"{s['peak_rss_mb']:.0f}" + mark(rss_ok),
            f"{s['connect_ms']:.1f}",
            f"{s['broker_cpu_us_per_msg']:.1f}",
            "—" if s.get("switches_per_msg") is None else f"{s['switches_per_msg']:.1f}",
        ])
    return out


HEADER = ["client", "msg/s", "vs raw rumqttc", "vs official SDK", "client CPU µs/msg", "peak RSS MB", "connect ms",
          "broker CPU µs/msg", "context switches /msg"]


def md_table(header: List[str], body: List[List[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def overhead_rows(results: Dict[str, Any], by_key: Dict[str, Client]) -> List[List[str]]:
    def us(d: Dict[str, Any], key: str, target: Optional[float] = None) -> str:
        if key not in d or d[key] is None:
            return "—"
        v = d[key] / 1000
        return (f"{v:.2f}" if v < 10 else f"{v:.1f}") + (mark(v < target) if target else "")
    out = []
    for key, c in by_key.items():
        d = results["overhead"].get(key)
        if d is None:
            continue
        target = TARGET_CREATE_US if c.language in ("Python", "Node.js") and c.kind == "iotsec" else None
        out.append([c.label, us(d, "create_flag_ns", target), us(d, "create_flag_mid_ns"), us(d, "topic_ns"),
                    us(d, "validate_ns"), us(d, "is_valid_ns")])
    return out


def glance(results: Dict[str, Any], by_key: Dict[str, Client]) -> List[str]:
    """The headline bullets: against the official SDKs, then against the floor."""
    s = results["summary"]
    out = []
    for key, c in by_key.items():
        if not c.official:
            continue
        parts = []
        for mode in results["modes"]:
            mine, theirs = s.get(mode, {}).get(key), s.get(mode, {}).get(c.official)
            if not mine or not theirs or "ratio_to_official" not in mine:
                continue
            parts.append(f"{MODE_LABEL[mode]}, **{mine['ratio_to_official']:.1f}×** the messages per second "
                         f"({fmt_rate(mine['msgs_per_sec'])} against {fmt_rate(theirs['msgs_per_sec'])}), "
                         f"{mine['cpu_us_per_msg']:.0f} against {theirs['cpu_us_per_msg']:.0f} µs of CPU per message, "
                         f"{mine['peak_rss_mb']:.0f} against {theirs['peak_rss_mb']:.0f} MB")
        if parts:
            out.append(f"- **{c.language}**, iotsec against `{by_key[c.official].label.split(' (')[0]}`: " + "; ".join(parts) + ".")
    for mode in results["modes"]:
        per = s.get(mode, {})
        parts = [f"{c.language} {per[key]['ratio_to_raw']:.2f}×" for key, c in by_key.items() if c.kind == "iotsec" and key in per]
        if parts:
            out.append(f"- **{MODE_LABEL[mode].capitalize()}**, iotsec against raw rumqttc (the floor): " + ", ".join(parts) + ".")
    return out


def target_rows(results: Dict[str, Any], by_key: Dict[str, Client]) -> List[List[str]]:
    s, modes = results["summary"], results["modes"]

    def cells(check: Callable[[str], Optional[str]]) -> List[str]:
        return [check(m) or "—" for m in ("await", "pipelined")]

    def ratio_check(keys: List[str], target: float) -> Callable[[str], Optional[str]]:
        def check(mode: str) -> Optional[str]:
            if mode not in modes:
                return None
            per = s[mode]
            return ", ".join(f"{by_key[k].language} {per[k]['ratio_to_raw']:.2f}×{mark(per[k]['ratio_to_raw'] >= target)}"
                             for k in keys if k in per) or None
        return check

    def cpu_check(keys: List[str]) -> Callable[[str], Optional[str]]:
        def check(mode: str) -> Optional[str]:
            if mode not in modes:
                return None
            per = s[mode]
            return ", ".join(f"{by_key[k].language} {per[k]['cpu_us_per_msg']:.1f}{mark(per[k]['cpu_us_per_msg'] <= TARGET_CPU_US)}"
                             for k in keys if k in per) or None
        return check

    def rss_check(mode: str) -> Optional[str]:
        if mode not in modes:
            return None
        per = s[mode]
        parts = []
        for k, c in by_key.items():
            if c.official and k in per and c.official in per:
                a, b = per[k]["peak_rss_mb"], per[c.official]["peak_rss_mb"]
                parts.append(f"{c.language} {a:.0f} vs {b:.0f} MB{mark(a < b)}")
        return ", ".join(parts) or None

    packages = [k for k, c in by_key.items() if c.kind == "iotsec" and k != "rust"]
    rows = []
    if "rust" in by_key:
        rows.append(["iotsec Rust ≥ 0.9× raw rumqttc", *cells(ratio_check(["rust"], TARGET_RUST_RATIO))])
    rows.append(["every package ≥ 0.8× raw rumqttc", *cells(ratio_check(packages, TARGET_PACKAGE_RATIO))])
    rows.append(["every package ≤ 20 µs CPU per message", *cells(cpu_check(packages))])
    rows.append(["less memory than the official SDK (peak RSS)", *cells(rss_check)])
    created = []
    for k, c in by_key.items():
        d = results["overhead"].get(k)
        if c.kind == "iotsec" and c.language in ("Python", "Node.js") and d:
            v = d["create_flag_ns"] / 1000
            created.append(f"{c.language} {v:.2f} µs{mark(v < TARGET_CREATE_US)}")
    if created:
        rows.append(["creating a message + security flag < 2 µs (Python, Node.js)", ", ".join(created), "(per call, no mode)"])
    return rows


def table_text(results: Dict[str, Any], by_key: Dict[str, Client]) -> str:
    parts = []
    for mode in results["modes"]:
        parts.append(f"\n{MODE_LABEL[mode]} ({results['count']} messages, median of {results['rounds']} rounds)")
        rs = rows(results, by_key, mode)
        widths = [max(len(h), *(len(r[i]) for r in rs)) for i, h in enumerate(HEADER)]
        parts.append("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)))
        parts += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rs]
    return "\n".join(parts)


def report(results: Dict[str, Any], chart: str, by_key: Dict[str, Client]) -> str:
    m = results["machine"]
    analysis_file = ROOT / "bench" / "ANALYSIS.md"
    analysis = analysis_file.read_text().strip() if analysis_file.exists() else ""
    n, rounds = results["count"], results["rounds"]
    s = results["summary"]
    lines = [
        "# Benchmarks: iotsec against raw rumqttc and the official Azure IoT SDKs",
        "",
        "<!-- Generated by bench/run.sh (bench/driver.py); the analysis section comes from bench/ANALYSIS.md. -->",
        "",
        f"Every client sends the same {results['body_bytes']}-byte security message (the guide's example made "
        f"schema-valid, `tests/vectors/guide/bench_message.json`) as QoS 1 MQTT over TLS to one mosquitto "
        f"on 127.0.0.1, {n:,} times per run plus {results['warmup']:,} warm-up messages, each with its own "
        f"message id. A subscriber counted every run: all {n:,} measured messages of every run arrived "
        f"({sum(1 for r in results['runs'])} runs). Numbers are medians of {rounds} rounds.",
        "",
        f"![msg/s per client, await each send and pipelined]({chart})",
        "",
    ]
    lines += ["## At a glance", "", *glance(results, by_key), "", "## The issue's targets", "",
              "Issue 11's targets for this 2-core machine, against what this run measured (ratios are medians of "
              "per-round pairs with the floor run next to each run):", "",
              md_table(["target", "await each send", "pipelined"], target_rows(results, by_key), "lll"), "",
              "Why the ❌ are ❌, and what would move them, is in *What limits the missed targets* below.", ""]
    for mode in results["modes"]:
        lines += [f"## {MODE_LABEL[mode].capitalize()}", ""]
        if mode == "await":
            lines.append("Each send is awaited before the next one starts: one message in flight, so every message "
                         "costs a full round trip to the broker and back.")
        else:
            lines.append(f"All sends are issued, then all are awaited (`asyncio.gather`, `Promise.all`, "
                         f"`Task.WhenAll`, `sendEventAsync` with a callback, `SendEventAsync` in C, `send_messages` in "
                         f"Rust). iotsec and the floor keep {results['inflight']} PUBLISHes in flight; the official "
                         "SDKs use their own defaults (Python's paho: 20; Node's mqtt.js: no limit).")
        lines += ["", md_table(HEADER, rows(results, by_key, mode), "lrrrrrrrr"), ""]
    lines += [
        "Columns: **msg/s**, measured messages over the time from the first send to the last acknowledgement "
        "(message creation included); **vs raw rumqttc**, the median over rounds of this client's rate divided "
        "by the rate of the raw rumqttc run right next to it (same round, same mode); **vs official SDK**, the "
        "same against the official SDK's run of that round; **client CPU µs/msg**, user + system CPU of the whole "
        "client process (every thread) over the measured window, per message; **peak RSS MB**, the client "
        "process's maximum resident set (`VmHWM`, read by the client at its end), runtime included (JVM, Mono, "
        "Node, CPython); **connect ms**, creating the client and connecting (TCP, TLS, CONNECT/CONNACK); **broker CPU "
        "µs/msg**, mosquitto's CPU over the whole run (warm-up and connect included) per measured message, "
        "subscriber fan-out included; **context switches /msg**, the client process's context switches "
        "(every thread, `perf stat`, its whole life) per message sent, warm-up included: a thread that goes to "
        "sleep and is woken again counts one. ✅/❌: the issue's targets (Rust ≥ 0.9× raw; every other package ≥ 0.8× "
        "raw and ≤ 20 µs CPU per message; less memory than the official SDK of that language).",
        "",
        "## Per-call overhead",
        "",
        "Microseconds per call, best of 5 timed loops of at least 0.2 s each, in the language itself. "
        "*create + flag*: a message from the guide-sized body and `set_as_security_message` (the idiom of the "
        "language); *+ message id*: the same with a message id set; *topic*: encoding the MQTT topic (property "
        "bag) of such a message, where the package exposes it; *validate*: the full schema validation of the "
        "guide-sized body (all violations, here none); *is_valid*: the yes/no check the send path runs. "
        "The official SDKs validate nothing.",
        "",
        md_table(["client", "create + flag", "+ message id", "topic", "validate", "is_valid"],
                 overhead_rows(results, by_key), "lrrrrr"),
        "",
    ]
    if results["not_run"]:
        lines += ["## Not measured", ""]
        lines += [f"- {k}: {v}" for k, v in results["not_run"].items()]
        lines += ["- The official Java SDK (`com.microsoft.azure.sdk.iot:iot-device-client`): Maven Central does not "
                  "serve it on this machine (bench/run.sh tries once), and the official C# SDK needs a .NET SDK, "
                  "which is not reachable here (only Mono); the official C SDK is not packaged for Debian.", ""]
    else:
        lines += ["## Not measured", "",
                  "- The official Java SDK (`com.microsoft.azure.sdk.iot:iot-device-client`): Maven Central does not "
                  "serve it on this machine (bench/run.sh tries once). The official C# SDK needs a .NET SDK, which is "
                  "not reachable here (only Mono). The official C SDK is not packaged for Debian.", ""]
    if analysis:
        lines += [analysis, ""]
    lines += ["<details><summary>Every round: msg/s of each run, and the ratio to its floor run</summary>", ""]
    for mode in results["modes"]:
        body = []
        for key, c in by_key.items():
            x = s.get(mode, {}).get(key)
            if x:
                ratios = ", ".join(f"{v:.2f}" for v in x.get("ratios_to_raw", [])) or "—"
                body.append([c.label, ", ".join(f"{v:,}" for v in x["rates"]), ratios])
        lines += [f"**{MODE_LABEL[mode]}**", "", md_table(["client", "msg/s per run", "ratio to its floor run"], body, "lll"), ""]
    lines += ["</details>", ""]
    lines += [
        "## How it was measured",
        "",
        "- `bench/run.sh` builds every package from this checkout (release profile), installs the official "
        "SDKs (`azure-iot-device==2.14.0` from PyPI into a venv; `azure-iot-device@1.18.4` and "
        "`azure-iot-device-mqtt@1.16.4` from npm), starts one mosquitto (TLS on 127.0.0.1:8883, where the "
        "official SDKs always connect; `set_tcp_nodelay true`; no in-flight or queue limits) and a counting "
        "subscriber (QoS 1, `devices/#`, on a plain listener of the same broker).",
        "- Each run is a fresh process: connect, send the warm-up messages (ids `w0…`), then the measured ones "
        "(ids `m0…`), in the same mode. The subscriber must see exactly the run's distinct ids, or the run fails "
        "and so does the benchmark.",
        "- **The floor** is rumqttc alone in Rust (`bench/rust`, `send --client raw`): the same topic bytes "
        "(checked against iotsec's encoder), the same body, no iotsec on the send path. Awaiting each, it "
        "publishes, polls the event loop until that PUBACK and publishes the next, all in one task on a runtime "
        "worker: the tightest loop an application can write (the thread the socket wakes is the one that "
        "publishes next). Pipelined, it keeps the same window as iotsec (100). The row *raw rumqttc in "
        "#[tokio::main]* runs the same code the way a `#[tokio::main]` program does, in `block_on` on the main "
        "thread, where every PUBACK wakes that thread from a worker.",
        f"- **Noise**: this machine ({m['cores']} cores) is shared with other jobs (other builds ran during the "
        "runs; see the load average below). Runs alternate between the floor and iotsec and between iotsec and the official "
        "SDK, every iotsec run has its own floor run next to it, the order flips every round, and the table "
        "shows medians; still, expect ±10–20 % between whole runs (every run is listed under "
        "*Every round* above).",
        f"- Reproduce: `bench/run.sh` (20,000 messages, 5 rounds: about 8 minutes after the build; this report: "
        f"`--rounds {rounds}`) or `bench/run.sh --quick` (2,000 messages, 1 round: about a minute after the build). "
        "`bench/run.sh --help` lists the options; `python3 bench/driver.py --report-only target/bench/results.json` "
        "rewrites this file from the last results.",
        "",
        "## Machine",
        "",
        md_table(["", ""], [[k, str(v)] for k, v in m.items()], "ll"),
        "",
        f"Run on {results['date']}, {results['duration_s']} s in all.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as e:
        stop_started()
        print(f"bench: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        stop_started()
        sys.exit(130)
