"""Fixtures shared by every app's tests, gathered from the modules that own them."""

pytest_plugins = [
    "docusign_emulator.pytest_plugin",
    "testing.fixtures",
]
