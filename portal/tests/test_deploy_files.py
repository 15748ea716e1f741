"""docker-compose.yml, the Dockerfile and bin/run start the Procfile's commands, written once there,
and the pre-commit hooks run the tools pinned for bin/test. No Docker engine is needed: the files
are read as data, and bin/proc is run on a Procfile of the test's own."""

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _procfile_roles() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_compose_role_runs_its_procfile_line_through_bin_proc():
    roles = _procfile_roles()
    services = _compose()["services"]
    built = {name: s for name, s in services.items() if s.get("image") == "docusign-partner-portal"}

    commands = {name: s["command"] for name, s in built.items() if name != "migrate"}
    roles_run = ("web", "worker", "forwarder", "beat", "emulator")
    assert commands == {role: ["bin/proc", role] for role in roles_run}
    assert set(commands) <= set(roles)
    assert services["beat"]["deploy"]["replicas"] == 1


def test_compose_keeps_the_database_and_broker_settings_for_roles_that_add_their_own():
    services = _compose()["services"]

    for name in ("web", "worker", "forwarder", "beat", "emulator", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://portal:"), name
        assert environment["REDIS_URL"] == "redis://redis:6379/0", name
    assert services["web"]["environment"]["WEB_BIND"] == "0.0.0.0:8000"
    assert services["emulator"]["environment"]["EMULATOR_HOST"] == "0.0.0.0"  # noqa: S104


def test_the_image_serves_the_web_role_by_default():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r'^CMD \["bin/proc", "web"\]$', dockerfile, re.MULTILINE)


def test_bin_proc_runs_the_named_line_with_the_environment_expanded(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text('first: echo never\ngreet: echo "hello ${WHO:-nobody}"\n')

    result = subprocess.run(
        [ROOT / "bin" / "proc", "greet"],
        env={"PATH": "/usr/bin:/bin", "PROCFILE": str(procfile), "WHO": "worker"},
        capture_output=True,
        text=True,
        timeout=10,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello worker\n"


def test_bin_proc_refuses_a_role_the_procfile_does_not_name():
    result = subprocess.run(
        [ROOT / "bin" / "proc", "webserver"], capture_output=True, text=True, timeout=10
    )

    assert result.returncode == 2
    assert "there is no 'webserver' in Procfile" in result.stderr


def test_each_pre_commit_hook_runs_a_tool_pinned_in_requirements_dev():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    pinned = {
        line.split("==")[0].lower()
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if "==" in line
    }

    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    assert {hook["id"] for hook in hooks} == {
        "ruff-check",
        "ruff-format",
        "django-upgrade",
        "djlint",
    }
    for hook in hooks:
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), hook["id"]
        assert tool.removeprefix(".venv/bin/") in pinned, hook["id"]


def test_every_apps_tests_are_in_the_suite():
    """A tests folder missing from pytest's testpaths would never run in `bin/test` or CI."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    testpaths = set(config["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {path.parent.parent.name for path in ROOT.glob("*/tests/__init__.py")}
    assert with_tests - testpaths == set()
