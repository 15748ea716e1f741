"""Start-up configuration: production refuses to run on development defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
_TEST_ONLY_VARIABLES = {
    "DEBUG",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
}


def _manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY_VARIABLES}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_like() -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": "prod-" + Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "portal.partner.example",
        "PORTAL_PUBLIC_URL": "https://portal.partner.example",
    }


def test_check_deploy_is_clean_with_production_like_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production_like())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_secret_and_names_it(missing):
    env = _production_like()
    del env[missing]
    result = _manage("check", **env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe-ish"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("DATABASE_URL", "nonsense://x"),
        ("INVITE_VALID_DAYS", "seven"),
    ],
)
def test_malformed_variables_stop_start_up_with_a_message_naming_them(variable, value):
    env = _production_like()
    env[variable] = value
    result = _manage("check", **env)
    assert result.returncode != 0
    assert variable in result.stderr


def test_no_missing_migrations():
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="true")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_the_settings_read_is_listed_in_env_example():
    import re

    source = "".join(path.read_text() for path in (ROOT / "portal" / "settings").glob("*.py"))
    read = set(re.findall(r'\b(?:read|secret)\(\s*"([A-Z0-9_]+)"', source))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "the settings module reads no variable?"
    assert read - listed == set(), "add these to .env.example"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PASSWORD_LOGIN_DISABLED": "true"}, "PASSWORD_LOGIN_DISABLED needs OIDC_ISSUER"),
        ({"OIDC_ISSUER": "https://idp.example"}, "also set OIDC_CLIENT_ID"),
        (
            {
                "OIDC_ISSUER": "https://idp.example",
                "OIDC_CLIENT_ID": "portal",
                "OIDC_CLIENT_SECRET": "s3cret",
                "OIDC_ROLE_GROUPS": "superuser=everyone",
            },
            "OIDC_ROLE_GROUPS names unknown roles: superuser",
        ),
    ],
)
def test_an_incomplete_sign_in_configuration_stops_start_up(variables, message):
    result = _manage("check", **_production_like(), **variables)
    assert result.returncode != 0
    assert message in result.stderr
