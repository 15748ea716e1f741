"""Encryption of secrets at rest with MultiFernet: the first key encrypts, every key decrypts.

`python -m common.crypto` prints a new key to put in front of FIELD_ENCRYPTION_KEYS.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretDecryptionError(Exception):
    """No configured key opens this value: FIELD_ENCRYPTION_KEYS lost the key it was written
    with."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from None


def reencrypt(ciphertext: str) -> tuple[str, bool]:
    """The value under the newest key, and whether it was under an older key before."""
    fernet = _fernet()
    rotated = fernet.rotate(ciphertext.encode()).decode()
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    try:
        primary.decrypt(ciphertext.encode())
        was_old = False
    except InvalidToken:
        was_old = True
    return rotated, was_old


if __name__ == "__main__":
    print(Fernet.generate_key().decode())
