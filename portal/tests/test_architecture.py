"""Imports run one way: portal → tenants, connect, events → docusign_api; never back up."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {
    "portal",
    "accounts",
    "apikeys",
    "common",
    "tenants",
    "connect",
    "events",
    "alerts",
    "forwarding",
    "docusign_api",
    "docusign_emulator",
}

# package → project packages it must never import
FORBIDDEN = {
    "common": {"tenants", "connect", "events", "alerts", "portal"},
    "accounts": {"tenants", "connect", "events", "alerts", "portal"},
    "apikeys": {"tenants", "connect", "events", "alerts", "portal"},
    "tenants": {"connect", "events", "alerts", "portal"},
    "connect": {"events", "alerts", "portal"},
    "events": {"portal", "alerts"},
    "alerts": {"connect", "events", "portal"},
    # Below events (which hands it each stored event): names the event model by its label only.
    "forwarding": {"events", "connect", "alerts", "portal"},
    "docusign_api": PROJECT_PACKAGES - {"docusign_api"} | {"django"},
    "docusign_emulator": PROJECT_PACKAGES - {"docusign_emulator"} | {"django"},
}


def _imported_top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if {"tests", "testing"} & set(path.relative_to(ROOT).parts):
            continue  # test support may wire layers together (and start the emulator)
        bad = _imported_top_level_names(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []
