"""seatflow.domain.webhooks: the signature header, its check, the event body and the backoff schedule."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatflow.domain import webhooks
from seatflow.domain.webhooks import SignatureError

NOW = 1_764_201_600


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":1}'
    expected = hmac.new(b"s3cret", b"1764201600." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature_header("s3cret", NOW, body) == f"t={NOW},v1={expected}"
    assert webhooks.verify("s3cret", f"t={NOW},v1={expected}", body, now=NOW + 10) == NOW


def test_a_header_with_several_v1_signatures_matches_any() -> None:
    body = b"{}"
    good = webhooks.signature("new", NOW, body)
    assert webhooks.verify("new", f"t={NOW}, v1=00ff, v1={good}", body, now=NOW) == NOW


@pytest.mark.parametrize(("header", "says"), [
    ("", "no t="),
    ("v1=abc", "no t="),
    ("t=abc,v1=00", "not a whole number"),
    (f"t={NOW}", "no v1="),
    (f"t={NOW},v0=00", "no v1="),
    (f"t={NOW - 301},v1=00", "301 s old"),
    (f"t={NOW + 400},v1=00", "more than 300 s"),
    (f"t={NOW},v1=00", "does not match"),
])
def test_bad_headers_say_what_is_wrong(header: str, says: str) -> None:
    with pytest.raises(SignatureError, match=says):
        webhooks.verify("s3cret", header, b"{}", now=NOW)


def test_the_body_is_stable_compact_sorted_json() -> None:
    created = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    body = webhooks.event_body(event_id=7, topic="item.accepted", created_at=created, payload={"b": 1, "a": "内江"})
    assert body == webhooks.event_body(event_id=7, topic="item.accepted", created_at=created,
                                       payload={"a": "内江", "b": 1})
    assert json.loads(body) == {"id": 7, "topic": "item.accepted", "created_at": "2026-11-27T08:00:00+00:00",
                                "data": {"a": "内江", "b": 1}}
    assert "内江".encode() in body and b" " not in body


@given(attempts=st.integers(min_value=1, max_value=200), base=st.floats(min_value=0.01, max_value=100),
       cap=st.floats(min_value=0.01, max_value=86400), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempts: int, base: float, cap: float,
                                                             seed: int) -> None:
    delay = webhooks.backoff_seconds(attempts, base=base, cap=cap, rng=random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** min(attempts - 1, 60))


def test_backoff_spreads_out_and_grows() -> None:
    rng = random.Random(1)
    first = [webhooks.backoff_seconds(1, base=2, cap=3600, rng=rng) for _ in range(2000)]
    tenth = [webhooks.backoff_seconds(10, base=2, cap=3600, rng=rng) for _ in range(2000)]
    assert max(first) <= 2 and 0.9 < sum(first) / len(first) < 1.1  # uniform on [0, 2]
    assert max(tenth) <= 1024 and 460 < sum(tenth) / len(tenth) < 564  # uniform on [0, 1024]
    assert len(set(first)) > 1900, "jittered, not one delay for everyone"
    assert webhooks.backoff_seconds(0, base=2, cap=10) == 0.0


def test_success_is_2xx_only() -> None:
    assert [c for c in (199, 200, 204, 299, 300, 301, 404, 500) if webhooks.is_success(c)] == [200, 204, 299]
