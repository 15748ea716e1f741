"""Helpers for tests anywhere in the project: start the emulator, drive its control plane.

with EmulatorServer() as server:
    control = EmulatorControl(server.url)
    control.reset(seed=TEST_SEED)

This module holds `EmulatorServer` (the subprocess) and is where callers import everything from:
the control-plane client lives in `testing_control.py` and the standard seed in `testing_seed.py`.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from docusign_emulator.testing_control import EmulatorControl, EmulatorError
from docusign_emulator.testing_seed import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ACCOUNT_2_ID,
    TEST_ACCOUNT_2_SHARD,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_NON_ADMIN_EMAIL,
    TEST_NON_ADMIN_PASSWORD,
    TEST_NON_ADMIN_USER_ID,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_OUTSIDER_USER_ID,
    TEST_PARTNER_ACCOUNT_ID,
    TEST_PARTNER_ADMIN_EMAIL,
    TEST_PARTNER_ADMIN_PASSWORD,
    TEST_PARTNER_ADMIN_USER_ID,
    TEST_PARTNER_SHARD,
    TEST_PRIVATE_KEY_PEM,
    TEST_PUBLIC_KEY_PEM,
    TEST_REDIRECT_URI,
    TEST_SEED,
    TEST_SINGLE_ADMIN_EMAIL,
    TEST_SINGLE_ADMIN_PASSWORD,
    TEST_SINGLE_ADMIN_USER_ID,
    TEST_SYSTEM_USER_EMAIL,
    TEST_SYSTEM_USER_ID,
)

__all__ = [
    "TEST_ACCOUNT_1_ID",
    "TEST_ACCOUNT_1_SHARD",
    "TEST_ACCOUNT_2_ID",
    "TEST_ACCOUNT_2_SHARD",
    "TEST_ADMIN_EMAIL",
    "TEST_ADMIN_PASSWORD",
    "TEST_ADMIN_USER_ID",
    "TEST_CLIENT_ID",
    "TEST_CLIENT_SECRET",
    "TEST_NON_ADMIN_EMAIL",
    "TEST_NON_ADMIN_PASSWORD",
    "TEST_NON_ADMIN_USER_ID",
    "TEST_ORGANIZATION_ID",
    "TEST_ORG_SEED",
    "TEST_OUTSIDER_USER_ID",
    "TEST_PARTNER_ACCOUNT_ID",
    "TEST_PARTNER_ADMIN_EMAIL",
    "TEST_PARTNER_ADMIN_PASSWORD",
    "TEST_PARTNER_ADMIN_USER_ID",
    "TEST_PARTNER_SHARD",
    "TEST_PRIVATE_KEY_PEM",
    "TEST_PUBLIC_KEY_PEM",
    "TEST_REDIRECT_URI",
    "TEST_SEED",
    "TEST_SINGLE_ADMIN_EMAIL",
    "TEST_SINGLE_ADMIN_PASSWORD",
    "TEST_SINGLE_ADMIN_USER_ID",
    "TEST_SYSTEM_USER_EMAIL",
    "TEST_SYSTEM_USER_ID",
    "EmulatorControl",
    "EmulatorError",
    "EmulatorServer",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


# --- the process ------------------------------------------------------------------------------


class EmulatorServer:
    """Runs `python -m docusign_emulator` in a subprocess on a free port.

    `.url` (public URL), `.auth_host` (bare host:port, the JWT `aud`), `.ca_file` (with tls),
    `.base_uri(shard)`, `.control` (an EmulatorControl), `.stop()`.
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        latency_ms: int = 0,
        state_file: str | os.PathLike | None = None,
        seed: str | os.PathLike | None = None,
        tls_dir: str | os.PathLike | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: list[str] | tuple[str, ...] = (),
        startup_timeout_s: float = 20.0,
    ):
        self.tls = tls
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.state_file = state_file
        self.seed = seed
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self._tmp: tempfile.TemporaryDirectory | None = None
        if tls and tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ds-emulator-tls-")
            tls_dir = self._tmp.name
        self.tls_dir = str(tls_dir) if tls_dir else None
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.auth_host = ""
        self.ca_file: str | None = None
        self.output: list[str] = []

    def start(self) -> EmulatorServer:
        cmd = [
            sys.executable,
            "-m",
            "docusign_emulator",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.latency_ms:
            cmd += ["--latency-ms", str(self.latency_ms)]
        if self.tls:
            cmd += ["--tls", "--tls-dir", str(self.tls_dir)]
        if self.state_file:
            cmd += ["--state-file", str(self.state_file)]
        if self.seed:
            cmd += ["--seed", str(self.seed)]
        cmd += self.extra_args
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=str(REPO_ROOT),
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            stdout = self.process.stdout if self.process is not None else None
            for line in stdout or ():
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, name="emulator-stdout", daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout_s
        marker = "DocuSign emulator listening on "
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError("emulator did not start:\n" + "".join(self.output))
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("emulator exited:\n" + "".join(self.output))
            if line.startswith(marker):
                self.url = line[len(marker) :].strip()
                break
        self.auth_host = self.url.split("://", 1)[1].rstrip("/")
        if self.tls:
            self.ca_file = os.path.join(str(self.tls_dir), "ca.pem")
        return self

    def base_uri(self, shard: str) -> str:
        return f"{self.url}/{shard}"

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.url, ca_file=self.ca_file)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
