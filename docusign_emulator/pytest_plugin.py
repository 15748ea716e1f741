"""Fixtures for every part's tests: one emulator process per session, reset per test.

- `emulator_server`: plain HTTP, zero latency, session-scoped `EmulatorServer`.
- `emulator_tls_server`: the same with `--tls` (`.ca_file` is the CA bundle).
- `emulator`: function-scoped `EmulatorControl` for `emulator_server`, reset with `TEST_SEED`.
- `emulator_tls`: the same for `emulator_tls_server`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from docusign_emulator.testing import TEST_SEED, EmulatorControl, EmulatorServer


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def emulator_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(tls=True, tls_dir=tmp_path_factory.mktemp("emulator-tls")) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorControl:
    control = emulator_server.control
    control.reset(seed=TEST_SEED)
    return control


@pytest.fixture
def emulator_tls(emulator_tls_server: EmulatorServer) -> EmulatorControl:
    control = emulator_tls_server.control
    control.reset(seed=TEST_SEED)
    return control
