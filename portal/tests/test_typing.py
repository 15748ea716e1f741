"""mypy (run by bin/test before pytest) holds the services to their signatures: a wrong type on a
service call is an error, the right one is not."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    script = tmp_path / "call.py"
    script.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(script)],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mypy_refuses_a_wrong_type_on_a_service_call(tmp_path):
    wrong = _mypy(
        tmp_path,
        "from tenants.models import Tenant\n"
        "from tenants.services.tenants import tenant_archive\n"
        "tenant_archive(tenant=Tenant.objects.get(pk=1), actor='scheduler')\n",
    )
    right = _mypy(
        tmp_path,
        "from tenants.models import Tenant\n"
        "from tenants.services.tenants import tenant_archive\n"
        "tenant_archive(tenant=Tenant.objects.get(pk=1), actor=None)\n",
    )

    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert 'Argument "actor" to "tenant_archive" has incompatible type "str"' in wrong.stdout
    assert right.returncode == 0, right.stdout + right.stderr
