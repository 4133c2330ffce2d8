"""Encrypt cluster secrets (kubeconfig text) at rest with Fernet keys supplied by the caller.

The caller passes the keys (the Django setting READINESS_SECRETS_KEYS), newest first: the first key
encrypts, every key decrypts, so keys rotate by putting a new one in front, running `rotate` over
stored values, then dropping the old key. No Django import here: the collector and the tests use
it without settings.
"""
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyError(Exception):
    """The keys are missing or malformed, or none of them opens the stored value."""


def encrypt(text: str, keys: Sequence[str | bytes]) -> str:
    """Encrypt `text` with the first key; the token is ASCII, safe for a text column."""
    return _fernet(keys).encrypt(text.encode()).decode("ascii")


def decrypt(token: str, keys: Sequence[str | bytes]) -> str:
    """Decrypt a token made by `encrypt` with any of `keys`."""
    try:
        return _fernet(keys).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError):
        raise SecretKeyError("The stored secret cannot be decrypted with the configured keys "
                             "(READINESS_SECRETS_KEYS): a key was changed or removed too early, "
                             "or the value was altered.") from None


def rotate(token: str, keys: Sequence[str | bytes]) -> str:
    """Re-encrypt a token under the first key (after a new key was put in front)."""
    try:
        return _fernet(keys).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretKeyError("The stored secret cannot be decrypted with the configured keys; "
                             "it was not rotated.") from None


def generate_key() -> str:
    """A new random key, in the form READINESS_SECRETS_KEYS expects."""
    return Fernet.generate_key().decode("ascii")


def _fernet(keys: Sequence[str | bytes]) -> MultiFernet:
    if isinstance(keys, (str, bytes)):  # one key passed bare: a common slip, and easy to honour
        keys = [keys]
    if not keys:
        raise SecretKeyError("No encryption key is configured: set READINESS_SECRETS_KEYS to a "
                             "list of Fernet keys (generate one with Fernet.generate_key()).")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Say which key is malformed, never its value.
            raise SecretKeyError(f"Key {position} of READINESS_SECRETS_KEYS is not a valid Fernet "
                                 f"key (32 url-safe base64-encoded bytes).") from None
    return MultiFernet(fernets)
