"""How the settings read the environment: one reader that names a missing or malformed
variable, secrets that have development defaults only while DEBUG is on, and DEBUG itself."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def read(name, cast, **kwargs):
    """Read one variable; a missing or malformed value stops start-up with a message naming it."""
    raw = env.str(name, default=None)
    if cast == "bool" and raw is not None and raw.strip().lower() not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be true or false, not {raw!r}."
        )
    if cast == "db_url" and raw is not None and raw.split(":", 1)[0] not in _DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a postgres:// or sqlite:/// URL."
        )
    try:
        return getattr(env, cast)(name, **kwargs)
    except ImproperlyConfigured:
        raise
    except Exception as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from None


def secret(name, *, dev_default):
    """A secret has a default only while DEBUG is on, so production can never run on a dev value."""
    if DEBUG:
        return read(name, "str", default=dev_default)
    value = read(name, "str", default="")
    if not value:
        raise ImproperlyConfigured(
            f"Set the {name} environment variable (required when DEBUG is off)."
        )
    return value


DEBUG = read("DEBUG", "bool", default=False)
