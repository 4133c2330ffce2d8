"""The signature on generic webhook bodies, so a receiver can tell our requests from anyone else's.

    X-Readiness-Timestamp: 1765000000
    X-Readiness-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant
time, and refuses timestamps older than a few minutes (a replayed request).
"""
import hashlib
import hmac
import secrets
import time

TIMESTAMP_HEADER = "X-Readiness-Timestamp"
SIGNATURE_HEADER = "X-Readiness-Signature"
EVENT_HEADER = "X-Readiness-Event"
DELIVERY_HEADER = "X-Readiness-Delivery"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, headers, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and what the README shows): signature matches and the timestamp is fresh."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), headers.get(SIGNATURE_HEADER, ""))
