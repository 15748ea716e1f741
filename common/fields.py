"""A text field whose value is encrypted before it reaches the database."""

from django.db import models

from common import crypto


class Ciphertext(str):
    """A value that is already encrypted: written as it is (used by key rotation)."""


class EncryptedTextField(models.TextField):
    """Plaintext in Python, Fernet ciphertext in the row. Not searchable, by design.

    An empty string stays empty so "not set" is visible without decrypting anything.
    """

    description = "Text encrypted at rest with FIELD_ENCRYPTION_KEYS"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, Ciphertext):
            return value
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        # Ciphertext is randomised, so only "is it set" questions make sense.
        if lookup_name not in {"isnull", "exact"}:
            return None
        return super().get_lookup(lookup_name)
