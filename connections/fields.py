"""An encrypted text field for partner tokens, on cryptography's MultiFernet.

Written here (about 40 lines) rather than taken from a field package because
the maintained ones swallow a failed decryption and hand back the ciphertext
as if it were the token (docs/architecture.md, "Tokens at rest"). Ours fails loudly, and its
keys (TOKEN_ENCRYPTION_KEYS) are separate from SECRET_KEY so either rotates
alone.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class TokenDecryptionError(Exception):
    """A stored token that no key in TOKEN_ENCRYPTION_KEYS can decrypt."""


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def token_fernet() -> MultiFernet:
    """The key ring of the current settings: the first key encrypts, all decrypt."""
    return _fernet_for(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_token(plaintext: str) -> str:
    return token_fernet().encrypt(plaintext.encode()).decode()


def decrypt_token(ciphertext: str) -> str:
    try:
        return token_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "A stored token could not be decrypted with any key in TOKEN_ENCRYPTION_KEYS."
        ) from None


def rotate_token(ciphertext: str) -> str:
    """Re-encrypt under the first key (after a key was prepended)."""
    try:
        return token_fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError("A stored token could not be rotated: no key decrypts it.") from None


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plaintext. Empty stays empty.

    Never filter on this column: the ciphertext differs on every save.
    """

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt_token(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_token(value)
