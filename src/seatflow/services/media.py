"""Media references: signed, short-lived URLs so the browser fetches only what it was handed."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from urllib.parse import quote

from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg


def _sig(secret: str, path: str, user_id: int, expires: int) -> str:
    msg = f"{path}\n{user_id}\n{expires}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def is_remote(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def sign(secret: str, ref: str, user_id: int, ttl: int = 3600) -> str:
    """A URL the actor's browser may fetch ``ref`` from (remote URLs pass through)."""
    if is_remote(ref):
        return ref
    expires = int(time.time()) + ttl
    return f"/media/{quote(ref)}?u={user_id}&e={expires}&s={_sig(secret, ref, user_id, expires)}"


def resolve(secret: str, media_root: Path, ref: str, *, user_id: int, expires: int, sig: str) -> Path:
    """Check a signed media request and return the file; never leaves the media folder."""
    if expires < time.time():
        raise Forbidden(Msg("this media link has expired; reload the item"))
    if not hmac.compare_digest(_sig(secret, ref, user_id, expires), sig):
        raise Forbidden(Msg("this media link is not valid"))
    root = media_root.resolve()
    path = (root / ref).resolve()
    if root not in path.parents:
        raise ValidationFailed(Msg("media path leaves the media folder"), field="path")
    if not path.is_file():
        raise NotFound(Msg("media {ref!r} is missing from the media folder", ref=ref))
    return path
