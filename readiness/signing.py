"""The server's Ed25519 signing key: reports and audit-chain anchors are signed with it.

A signed object is an envelope `{"payload": {...}, "key_id", "public_key", "signature"}`: the
signature is over the canonical JSON of the payload (sorted keys, no spaces, UTF-8), the public key is
the raw 32 bytes in base64, and the key id is the first 16 hex digits of the SHA-256 of those bytes.
The envelope carries its public key only so a reader can say which key signed it; a verifier trusts
the key it was given (the server's own, or `--public-key FILE`), never the one in the envelope.

Keys are read as PEM (`openssl genpkey -algorithm ed25519`) or as the base64 of the raw 32 bytes.
"""
import base64
import binascii
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# Used only with DEBUG=true and no key configured, like Django's development SECRET_KEY: anyone can
# sign with it, so its key id is printed on every report signed with it.
DEVELOPMENT_SEED = hashlib.sha256(b"readiness-insecure-development-signing-key").digest()


class SigningKeyError(ValueError):
    """A key that cannot be read."""


def canonical(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _raw_base64(text: str) -> bytes | None:
    compact = "".join(text.split())
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_" if "-" in compact or "_" in compact
                               else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def load_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a readable PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"a {type(key).__name__.removeprefix('_')} key, not Ed25519")
        return key
    raw = _raw_base64(text)
    if raw is None:
        raise SigningKeyError("neither a PEM Ed25519 private key nor the base64 of its 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key as PEM or raw base64; a private key (PEM) gives its public half."""
    text = text.strip()
    if "PRIVATE KEY-----" in text:
        return load_private_key(text).public_key()
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a readable PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"a {type(key).__name__.removeprefix('_')} key, not Ed25519")
        return key
    raw = _raw_base64(text)
    if raw is None:
        raise SigningKeyError("neither a PEM Ed25519 public key nor the base64 of its 32 raw bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def development_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(DEVELOPMENT_SEED)


def generate_private_pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def server_key() -> Ed25519PrivateKey:
    from django.conf import settings

    return settings.READINESS_SIGNING_KEY


def server_public_key() -> Ed25519PublicKey:
    return server_key().public_key()


def seal(payload: dict, key: Ed25519PrivateKey | None = None) -> dict:
    """The payload in a signed envelope (with the server's key unless another is given)."""
    key = key or server_key()
    public = key.public_key()
    return {"payload": payload, "key_id": key_id(public), "public_key": public_b64(public),
            "signature": base64.b64encode(key.sign(canonical(payload))).decode()}


def check(envelope, trusted: list[Ed25519PublicKey]) -> str | None:
    """None when `envelope` is signed by one of the trusted keys, else what is wrong with it."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        return "the signature block is malformed"
    by_id = {key_id(key): key for key in trusted}
    claimed = str(envelope.get("key_id", ""))
    key = by_id.get(claimed)
    if key is None:
        expected = ", ".join(by_id) or "none given"
        return f"signed by another key (key id {claimed or 'missing'}; trusted key id {expected})"
    try:
        signature = base64.b64decode(str(envelope.get("signature", "")), validate=True)
        key.verify(signature, canonical(envelope["payload"]))
    except (InvalidSignature, binascii.Error, ValueError):
        return f"the signature does not verify under key {claimed}: the signed content was altered"
    return None
