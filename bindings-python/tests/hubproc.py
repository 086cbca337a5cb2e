"""A local hub (``iotsec hub``) that a test owns: started here, killed by its PID and started
again on the same port with the same data (registry, CA, stores). Not a test module."""

import json
import os
import pathlib
import subprocess
import time
from typing import Any, Dict, List, Optional

from conftest import ROOT


class PrivateHub:
    def __init__(self, directory: pathlib.Path) -> None:
        self.dir = directory
        self.data_dir = directory / "data"
        self.binary = pathlib.Path(os.environ.get("IOTSEC_BIN", ROOT / "target" / "release" / "iotsec"))
        self.proc: Optional["subprocess.Popen[bytes]"] = None
        self.port = 0
        self.ca_file = ""
        self.starts = 0

    def start(self) -> "PrivateHub":
        """Starts the hub (on a free port the first time, on the same port afterwards) and
        waits until it listens."""
        self.starts += 1
        ready = self.dir / f"ready-{self.starts}.json"
        log = open(self.dir / f"hub-{self.starts}.log", "wb")
        cmd = [str(self.binary), "hub", "--data-dir", str(self.data_dir), "--port", str(self.port), "--ready-file", str(ready)]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.stat().st_size > 0):
            if self.proc.poll() is not None:
                raise RuntimeError(f"iotsec hub exited with {self.proc.returncode}: {(self.dir / f'hub-{self.starts}.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError("iotsec hub did not start within 30 s")
            time.sleep(0.02)
        info: Dict[str, Any] = json.loads(ready.read_text())
        self.port = int(info["tls_port"])
        self.ca_file = str(info["ca_file"])
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL by PID (the process this object started), and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def add_device(self, device: str) -> str:
        out = subprocess.run(
            [str(self.binary), "hub", "add-device", "--data-dir", str(self.data_dir), device],
            check=True, capture_output=True, text=True, timeout=30,
        )
        return [line for line in out.stdout.splitlines() if line.startswith("HostName=")][-1].strip()

    def store(self, name: str, device: str) -> List[Dict[str, Any]]:
        path = self.data_dir / "store" / name
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a write in progress
                if record.get("device_id") == device:
                    out.append(record)
        return out

    def options(self, **extra: Any) -> Dict[str, Any]:
        return {"port": self.port, "ca_file": self.ca_file, **extra}
