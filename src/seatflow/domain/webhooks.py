"""Webhooks without I/O: the signature, its check, the event body and the retry schedule.

A delivery is signed over the exact bytes sent: ``Seatflow-Signature: t=<unix>,v1=<hex>`` where
``hex = HMAC-SHA256(secret, f"{t}." + body)``. A receiver recomputes it over the raw body it read,
compares in constant time and refuses timestamps older than its tolerance (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import datetime
from typing import Any

SIGNATURE_HEADER = "Seatflow-Signature"
EVENT_ID_HEADER = "Seatflow-Event-Id"
IDEMPOTENCY_HEADER = "Seatflow-Idempotency-Key"
TOPIC_HEADER = "Seatflow-Topic"
ATTEMPT_HEADER = "Seatflow-Attempt"

DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale, or does not match the body."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}." + body`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, [v1 signatures]) of a ``Seatflow-Signature`` header (several v1 during a rotation)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"the timestamp t={value!r} is not a whole number") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("the signature header has no t=<unix time>")
    if not signatures:
        raise SignatureError("the signature header has no v1=<hex signature>")
    return timestamp, signatures


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Check ``header`` against ``body``; returns the signed timestamp or raises SignatureError."""
    timestamp, signatures = parse_signature_header(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"the signature is {int(now - timestamp)} s old; more than {tolerance:.0f} s")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("the signature does not match the body (wrong secret, or the body was changed)")
    return timestamp


def event_body(*, event_id: int, topic: str, created_at: datetime, payload: dict[str, Any]) -> bytes:
    """The bytes POSTed for an event: the same for every attempt, so a retry is byte-identical."""
    envelope = {"id": event_id, "topic": topic, "created_at": created_at.isoformat(), "data": payload}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``attempts`` failed ones: exponential with full jitter.

    Uniform in [0, min(cap, base * 2**(attempts-1))]: spread out, so that a receiver coming back
    after an outage is not hit by every waiting event at the same instant.
    """
    if attempts < 1:
        return 0.0
    ceiling = min(cap, base * 2.0 ** min(attempts - 1, 60))
    return (rng or random).uniform(0.0, ceiling)


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300
