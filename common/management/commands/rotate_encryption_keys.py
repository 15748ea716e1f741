"""Re-encrypt every stored secret under the newest key in FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS, deploy, run this command, then drop the old
key. Safe to run twice; rows already under the newest key are rewritten unchanged in meaning.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from common import crypto
from common.fields import Ciphertext, EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypts every EncryptedTextField value under the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        totals = {"rows": 0, "rotated": 0}
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            rows = rotated = 0
            names = [f.attname for f in fields]
            pending = []
            for pk, *values in _raw_rows(model, names):
                changes = {}
                for name, value in zip(names, values, strict=True):
                    if not value:
                        continue
                    new_value, was_old = crypto.reencrypt(value)
                    rotated += was_old
                    changes[name] = Ciphertext(new_value)
                rows += 1
                if changes:
                    pending.append((pk, changes))
                if len(pending) >= batch_size:
                    _flush(model, pending)
            _flush(model, pending)
            label = f"{model._meta.app_label}.{model.__name__}"
            self.stdout.write(
                f"{label}: {rows} rows checked, {rotated} values moved to the newest key"
            )
            totals["rows"] += rows
            totals["rotated"] += rotated
        rows, rotated = _rotate_second_factor_secrets()
        self.stdout.write(
            f"mfa.Authenticator: {rows} rows checked, {rotated} values moved to the newest key"
        )
        totals["rows"] += rows
        totals["rotated"] += rotated
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {totals['rows']} rows checked, {totals['rotated']} values re-encrypted."
            )
        )


def _raw_rows(model, names):
    """values_list() would decrypt through from_db_value; read the columns with raw SQL instead."""
    table = connection.ops.quote_name(model._meta.db_table)
    pk_col = connection.ops.quote_name(model._meta.pk.column)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk_col}, {columns} FROM {table} ORDER BY {pk_col}")  # noqa: S608
        yield from cursor.fetchall()


def _flush(model, pending):
    with transaction.atomic():
        for pk, changes in pending:
            model.objects.filter(pk=pk).update(**changes)
    pending.clear()


# The keys of allauth's JSON `data` that hold a secret encrypted by portal/auth/adapters.py.
_MFA_SECRET_KEYS = ("secret", "seed")


def _rotate_second_factor_secrets() -> tuple[int, int]:
    """TOTP secrets and recovery-code seeds live in allauth's Authenticator.data (JSON)."""
    from allauth.mfa.models import Authenticator

    rows = rotated = 0
    for authenticator in Authenticator.objects.exclude(type=Authenticator.Type.WEBAUTHN):
        rows += 1
        changed = False
        for key in _MFA_SECRET_KEYS:
            if authenticator.data.get(key):
                new_value, was_old = crypto.reencrypt(authenticator.data[key])
                rotated += was_old
                changed |= was_old
                authenticator.data[key] = new_value
        if changed:
            authenticator.save(update_fields=["data"])
    return rows, rotated
