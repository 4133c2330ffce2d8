"""Request rate limits in Redis (the Django cache), so they hold across every web process.

A fixed window per key: the first call of a window creates its counter with the window's lifetime
(`cache.add`), every call increments it (`cache.incr`, atomic in Redis). Over the limit → the caller
learns how many seconds remain in the window (the Retry-After header). Without Redis the limit is
off, with a warning in the log, like the login brake: an outage of the cache must not stop deploys.
"""
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


def hit(scope: str, ident: str, *, limit: int, window: int) -> Verdict:
    """Count one call of `ident` in `scope`. Costs one or two Redis round trips."""
    if limit <= 0:  # 0 turns the limit off
        return Verdict(True, 0, 0, 0)
    now = time.time()
    start = int(now // window) * window
    key = f"api-rate:{scope}:{ident}:{start}"
    try:
        count = _count(key, window)
    except Exception as error:  # noqa: BLE001 - whatever the cache's failure, the call goes on
        logger.warning("Rate limit unavailable, %s calls not counted: %s", scope, error)
        return Verdict(True, limit, limit, 0)
    retry_after = max(1, int(start + window - now + 0.999))
    return Verdict(count <= limit, limit, max(0, limit - count), retry_after)


def _count(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this call opens the next window
        cache.add(key, 1, timeout=window + 1)
        return 1


def for_token(token_id: int) -> Verdict:
    return hit("token", str(token_id), limit=settings.READINESS_API_RATE_PER_TOKEN,
               window=settings.READINESS_API_RATE_WINDOW_SECONDS)


def for_address(address: str) -> Verdict:
    return hit("anon", address or "unknown", limit=settings.READINESS_API_RATE_ANONYMOUS,
               window=settings.READINESS_API_RATE_WINDOW_SECONDS)
