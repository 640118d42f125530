"""Fixtures for the Python binding tests: a real gridsync-relay on 127.0.0.1:0.

The relay binary comes from $GRIDSYNC_RELAY (ffi/test-bindings.sh builds it); the
bindings are imported from $PYTHONPATH (target/bindings/python).
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

GRID = "ankang/hanbin/laocheng/xinhua/g01"


@dataclass
class Relay:
    """A running relay and how to enroll devices on it."""

    exe: str
    data_dir: Path
    address: str
    fingerprint: str
    process: subprocess.Popen

    def enroll(self, name: str, scope: str = GRID) -> str:
        """Enrolls a device with `gridsync-relay device add --json`; returns its token."""
        out = subprocess.run(
            [self.exe, "--data-dir", str(self.data_dir), "device", "add",
             "--name", name, "--worker", "wang", "--scope", scope, "--json",
             "--role", "grid_worker", "--role", "grid_leader", "--role", "community_staff", "--role", "street_staff", "--role", "supervisor"],
            check=True, capture_output=True, text=True, timeout=30,
        )
        answer = json.loads(out.stdout)
        assert answer["ok"] == "enrolled", answer
        return answer["token"]


@pytest.fixture(scope="session")
def relay(tmp_path_factory):
    exe = os.environ.get("GRIDSYNC_RELAY")
    if not exe:
        pytest.fail("set GRIDSYNC_RELAY to the gridsync-relay binary (ffi/test-bindings.sh does)")
    data = tmp_path_factory.mktemp("relay")
    log = open(data / "relay.log", "w")
    proc = subprocess.Popen(
        [exe, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir", str(data), "--json"],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the relay exited: {(data / 'relay.log').read_text()}")
        info = json.loads(line)
        yield Relay(exe, data, info["listening"], info["fingerprint"], proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
