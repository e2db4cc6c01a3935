"""The client side of the moderation gate: push an item, read its state and decisions, appeal a decision.

An item arrives with its content as an upload, a URL the server fetches, or a text. It is
idempotent by the client's external id within the project: the same request again returns the
same item, a different request with the same external id is refused (409). Each request is
summed up in a fingerprint (``items.request_hash``) over what the client sent — the uploaded
bytes' SHA-256, or the URL, or the text — with the kind, metadata, deadline and callback URL.

Which project: the body field ``project`` (a slug). A client with one moderation project may leave
it out. Texts are pre-screened and queued at once; images and videos wait for the media job
(``services/moderation_media.py``) and get their task only when their media is ready.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.domain.clock import utcnow
from seatflow.domain.workflow import parse_workflow, senior_stage
from seatflow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.moderation.prescreen import keyword_score
from seatflow.moderation.spool import Spooled
from seatflow.store import catalog
from seatflow.store import moderation as repo
from seatflow.store.engine import Database
from seatflow.store.events import append, event_row
from seatflow.worktypes import get_work_type

from .imports import FAR_FUTURE
from .moderation_flow import appeal_task, open_item, policy_of, reasons_detail, sla_deadline

KINDS = ("image", "video", "text")
TEXT_MAX = 20_000
METADATA_MAX_BYTES = 16 * 1024
EXTERNAL_ID_MAX = 400
REASON_MAX = 2000
Signer = Callable[[str], str]


@dataclass
class IngestRequest:
    """What the client sent, before anything is fetched or written."""

    external_id: str
    project: str | None = None
    kind: str | None = None
    text: str | None = None
    media_url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    deadline: str | None = None
    callback_url: str | None = None


@dataclass
class Checked:
    external_id: str
    kind: str | None
    deadline: datetime | None
    metadata: dict[str, Any]
    callback_url: str | None
    text: str | None
    media_url: str | None


def parse_deadline(value: str, *, now: datetime) -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(Msg("deadline: {value!r} is not an ISO 8601 time such as 2026-11-27T10:30:00+08:00",
                                   value=value), field="deadline") from None
    if dt.tzinfo is None:
        raise ValidationFailed(Msg("deadline: {value!r} has no time zone; add one, e.g. +08:00 or Z", value=value),
                               field="deadline")
    if dt <= now:
        raise ValidationFailed(Msg("deadline: {value!r} is already past; give a time in the future", value=value),
                               field="deadline")
    return dt


def check_request(req: IngestRequest, *, has_upload: bool, now: datetime) -> Checked:
    """Every field of the request, checked before anything is fetched or written."""
    ext = (req.external_id or "").strip()
    if not ext:
        raise ValidationFailed(Msg("external_id: this field is required (your id of the item)"), field="external_id")
    if len(ext) > EXTERNAL_ID_MAX:
        raise ValidationFailed(Msg("external_id: longer than {n} characters", n=EXTERNAL_ID_MAX), field="external_id")
    given = [name for name, present in (("file", has_upload), ("media_url", bool(req.media_url)),
                                        ("text", req.text is not None and req.text != "")) if present]
    if not given:
        raise ValidationFailed(Msg("content: send the item's content: a multipart 'file', a 'media_url' to fetch, "
                                   "or the 'text' to moderate"), field="content")
    if len(given) > 1:
        raise ValidationFailed(Msg("content: send only one of file, media_url, text (got {given})",
                                   given=", ".join(given)), field=given[1])
    kind = req.kind or ("text" if given == ["text"] else None)
    if kind is not None and kind not in KINDS:
        raise ValidationFailed(Msg("kind: {kind!r} is not one of image, video, text", kind=kind), field="kind")
    if given == ["text"] and kind != "text":
        raise ValidationFailed(Msg("kind: a text item has kind 'text', not {kind!r}", kind=kind), field="kind")
    if given != ["text"] and kind == "text":
        raise ValidationFailed(Msg("kind: 'text' items send the 'text' field, not a file or media_url"), field="kind")
    if req.text is not None and len(req.text) > TEXT_MAX:
        raise ValidationFailed(Msg("text: longer than {n} characters", n=TEXT_MAX), field="text")
    if req.media_url is not None and urlsplit(req.media_url).scheme not in ("http", "https"):
        raise ValidationFailed(Msg("media_url: {url!r} must be an http:// or https:// URL", url=req.media_url),
                               field="media_url")
    deadline = parse_deadline(req.deadline, now=now) if req.deadline else None
    callback = (req.callback_url or "").strip() or None
    if callback is not None:
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed(Msg("callback_url: {url!r} must be an http:// or https:// URL with a host",
                                       url=callback), field="callback_url")
        if len(callback) > 2000:
            raise ValidationFailed(Msg("callback_url: longer than {n} characters", n=2000), field="callback_url")
    if not isinstance(req.metadata, dict):
        raise ValidationFailed(Msg("metadata: must be a JSON object"), field="metadata")
    if len(json.dumps(req.metadata, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        raise ValidationFailed(Msg("metadata: larger than {kib} KiB as JSON", kib=METADATA_MAX_BYTES // 1024),
                               field="metadata")
    return Checked(external_id=ext, kind=kind, deadline=deadline, metadata=req.metadata, callback_url=callback,
                   text=req.text if given == ["text"] else None, media_url=req.media_url)


def fingerprint(checked: Checked, *, content: str) -> str:
    """The request summed up: a retry must give the same one (see the module docstring)."""
    data = {"kind": checked.kind, "content": content, "metadata": checked.metadata,
            "callback_url": checked.callback_url,
            "deadline": checked.deadline.astimezone(UTC).isoformat() if checked.deadline else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def content_key(checked: Checked, upload: Spooled | None) -> str:
    if upload is not None:
        return f"sha256:{upload.sha256}"
    if checked.media_url:
        return f"url:{checked.media_url}"
    return "text:" + hashlib.sha256((checked.text or "").encode()).hexdigest()


# --- projects -------------------------------------------------------------------------------------


def resolve_project(conn: Connection, actor: Actor, ref: str | None) -> Any:
    """The moderation project the request is for, if the actor may push to it."""
    if actor.role not in (Role.CLIENT, Role.ADMIN, Role.MANAGER):
        raise Forbidden(Msg("only client accounts (and managers) push items to moderation"))
    if ref is None or not str(ref).strip():
        mine = repo.moderation_projects(conn, client_id=actor.client_id if actor.role is Role.CLIENT else None)
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise NotFound(Msg("project: there is no moderation project for you"), field="project")
        raise ValidationFailed(Msg("project: name the moderation project (one of {slugs})",
                                   slugs=", ".join(p.slug for p in mine)), field="project")
    row = catalog.project_by_slug(conn, str(ref).strip())
    if row is None or not actor.can_see_client(row.client_id):
        raise NotFound(Msg("project: moderation project {ref!r} not found", ref=ref), field="project")
    if row.work_type != "moderation":
        raise ValidationFailed(Msg("project: {ref!r} is a {work_type} project, not a moderation project", ref=ref,
                                   work_type=row.work_type), field="project")
    if row.status != "active":
        raise Conflict(Msg("project: {ref!r} is {status} and takes no new items", ref=ref, status=row.status),
                       field="project")
    return row


def _readable_project(conn: Connection, actor: Actor, ref: str | None, external_id: str) -> tuple[Any, Any]:
    """(project, item) for a read or an appeal; the project may be left out when the id is unambiguous."""
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("workers see items only through their leases"))
    if ref:
        project = catalog.project_by_slug(conn, ref)
        if project is None or project.work_type != "moderation" or not actor.can_see_client(project.client_id):
            raise NotFound(Msg("project: moderation project {ref!r} not found", ref=ref), field="project")
        item = repo.item_by_external(conn, project.id, external_id)
        if item is None:
            raise NotFound(Msg("no item with external_id {external_id!r} in {project}", external_id=external_id,
                               project=project.slug), field="external_id")
        return project, item
    projects = repo.moderation_projects(conn, client_id=actor.client_id if actor.role is Role.CLIENT else None)
    found = repo.items_by_external(conn, [p.id for p in projects], external_id)
    if not found:
        raise NotFound(Msg("no moderation item with external_id {external_id!r}", external_id=external_id),
                       field="external_id")
    if len(found) > 1:
        raise ValidationFailed(Msg("project: external_id {external_id!r} is in several projects; add ?project=<slug>",
                                   external_id=external_id), field="project")
    return next(p for p in projects if p.id == found[0].project_id), found[0]


# --- ingest ----------------------------------------------------------------------------------------


@dataclass
class Ingested:
    item_id: int
    project: Any
    created: bool


def existing_or_conflict(conn: Connection, project: Any, external_id: str, request_hash: str) -> Any:
    """The item already pushed under this external id (None if there is none); 409 if its request differs."""
    item = repo.item_by_external(conn, project.id, external_id)
    if item is not None and item.request_hash != request_hash:
        raise Conflict(
            Msg("external_id: {external_id!r} was already pushed to {project} with a different request; "
                "send the same request to read it back, or use a new external_id", external_id=external_id,
                project=project.slug), field="external_id")
    return item


def store_media(upload: Spooled, *, media_root: Path, project_slug: str) -> str:
    """Move spooled media into the media folder, named by its content (the same bytes, one file)."""
    ref = f"moderation/{project_slug}/{upload.sha256[:2]}/{upload.sha256}{upload.sniffed.ext}"
    target = media_root / ref
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        upload.discard()
    else:
        shutil.move(str(upload.path), target)
    return ref


def insert(conn: Connection, *, project: Any, checked: Checked, kind: str, request_hash: str,
           media_ref: str | None, now: datetime) -> Ingested:
    """Write the item (one transaction). Texts are pre-screened and queued now; media waits for its job."""
    existing = existing_or_conflict(conn, project, checked.external_id, request_hash)
    if existing is not None:
        return Ingested(item_id=existing.id, project=project, created=False)
    deadline = checked.deadline or sla_deadline(project, now) or FAR_FUTURE
    payload: dict[str, Any] = {"kind": kind, "meta": checked.metadata}
    if kind == "text":
        payload["text"] = checked.text
    else:
        payload["media"] = media_ref
    policy = policy_of(project)
    get_work_type("moderation").parse_payload(payload, policy)
    score = None
    labels: list[str] = []
    if kind == "text":
        result = keyword_score(checked.text or "", policy.keywords, {r.code: r.severity for r in policy.reasons})
        score, labels = result.value, result.labels
        if score is not None:
            payload.update(prescreen_score=score, prescreen_labels=labels)
    item_id = repo.insert_item(conn, {
        "client_id": project.client_id, "project_id": project.id, "external_id": checked.external_id,
        "payload": payload, "media": [media_ref] if media_ref else None, "priority": 0, "deadline": deadline,
        "state": "active", "created_at": now, "callback_url": checked.callback_url, "request_hash": request_hash,
        "media_status": None if kind == "text" else "pending", "prescreen_score": score,
    })
    if item_id is None:  # a twin request committed first
        twin = existing_or_conflict(conn, project, checked.external_id, request_hash)
        return Ingested(item_id=twin.id, project=project, created=False)
    append(conn, [event_row(entity="item", kind="create", at=now, client_id=project.client_id, project_id=project.id,
                            item_id=item_id, to_state="active", data={"source": "moderation_api", "kind": kind})])
    if kind == "text":
        open_item(conn, item=repo.item_by_id(conn, item_id), project=project, score=score, labels=labels, now=now)
    return Ingested(item_id=item_id, project=project, created=True)


# --- reading -----------------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None or dt.year >= FAR_FUTURE.year else dt.isoformat()


def state_of(item: Any, decisions: list[Any], appeals: list[Any], tasks: list[Any], senior_stage: int) -> str:
    if item.state == "rejected_media":
        return "rejected_media"
    if item.media_status in ("pending", "processing"):
        return "processing_media"
    if any(a.state == "open" for a in appeals):
        return "appealed"
    if decisions:
        return "decided"
    if any(t.state == "leased" for t in tasks):
        return "in_review"
    if any(t.kind == "review" and t.stage >= senior_stage for t in tasks):
        return "escalated"
    if tasks:
        return "queued"
    return str(item.state)


def _decision_out(d: Any, reasons: Callable[[list[str]], list[dict[str, Any]]]) -> dict[str, Any]:
    return {"decision_no": d.decision_no, "decision": d.decision, "reasons": reasons(list(d.reasons)),
            "note": d.note, "source": d.source, "decided_at": d.decided_at.isoformat(),
            "within_deadline": d.decided_at <= d.deadline, "appeal_id": d.appeal_id}


def describe(conn: Connection, item: Any, project: Any, sign: Signer) -> dict[str, Any]:
    """The item as the client sees it: state, deadline, media, pre-screen, decisions and appeals."""
    policy = policy_of(project)
    decisions = repo.decisions_of(conn, item.id)
    appeals = repo.appeals_of(conn, item.id)
    tasks = repo.open_tasks(conn, item.id)
    payload = item.payload or {}
    out: dict[str, Any] = {
        "id": item.id,
        "external_id": item.external_id,
        "project": project.slug,
        "kind": payload.get("kind"),
        "state": state_of(item, decisions, appeals, tasks, senior_stage(parse_workflow(project.workflow))),
        "received_at": item.created_at.isoformat(),
        "deadline": _iso(item.deadline),
        "priority": item.priority,
        "callback_url": item.callback_url,
        "metadata": payload.get("meta") or {},
        "prescreen": {"score": item.prescreen_score, "labels": payload.get("prescreen_labels") or []},
    }
    if payload.get("kind") in ("image", "video"):
        out["media"] = {
            "status": item.media_status,
            "error": item.media_error,
            "duration_seconds": payload.get("duration_seconds"),
            "url": sign(payload["media"]) if payload.get("media") and item.media_status == "ready" else None,
            "thumbnails": [sign(ref) for ref in payload.get("thumbnails") or []],
            "strip": sign(payload["strip"]) if payload.get("strip") else None,
        }
    if item.state == "rejected_media":
        out["error"] = {"code": "rejected-media", "detail": item.media_error}
    listed = [_decision_out(d, lambda codes: reasons_detail(policy, codes)) for d in decisions]
    out["decision"] = listed[-1] if listed else None
    out["decisions"] = listed
    out["appeals"] = [{"id": a.id, "state": a.state, "reason": a.reason, "decision_no": _no(decisions, a.decision_id),
                       "outcome_decision_no": _no(decisions, a.outcome_decision_id),
                       "created_at": a.created_at.isoformat(), "decided_at": _iso(a.decided_at)} for a in appeals]
    return out


def _no(decisions: list[Any], decision_id: int | None) -> int | None:
    return next((d.decision_no for d in decisions if d.id == decision_id), None)


def read(conn: Connection, actor: Actor, *, external_id: str, project_ref: str | None, sign: Signer) -> dict[str, Any]:
    project, item = _readable_project(conn, actor, project_ref, external_id)
    return describe(conn, item, project, sign)


def read_by_id(conn: Connection, item_id: int, sign: Signer) -> dict[str, Any]:
    item = repo.item_by_id(conn, item_id)
    return describe(conn, item, catalog.project_by_id(conn, item.project_id), sign)


# --- appeals ---------------------------------------------------------------------------------------


def appeal(conn: Connection, actor: Actor, *, external_id: str, project_ref: str | None, reason: str,
           now: datetime | None = None) -> tuple[int, bool]:
    """Ask for the item's latest decision to be made again by a different moderator.

    Returns (item id, created). The same appeal again returns it unchanged; a different reason for
    an already appealed decision is refused (409)."""
    now = now or utcnow()
    if actor.role not in (Role.CLIENT, Role.ADMIN, Role.MANAGER):
        raise Forbidden(Msg("only the client (or a manager) appeals a decision"))
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(Msg("reason: say why the decision should be made again"), field="reason")
    if len(text) > REASON_MAX:
        raise ValidationFailed(Msg("reason: longer than {n} characters", n=REASON_MAX), field="reason")
    project, item = _readable_project(conn, actor, project_ref, external_id)
    item = repo.item_by_id(conn, item.id, lock=True)
    decisions = repo.decisions_of(conn, item.id)
    if not decisions:
        raise Conflict(Msg("external_id: {external_id!r} has no decision yet; appeal once it is decided",
                           external_id=external_id), field="external_id")
    latest = decisions[-1]
    prior = repo.appeal_for_decision(conn, latest.id)
    if prior is not None:
        if prior.reason != text:
            raise Conflict(Msg("external_id: decision {decision_no} of {external_id!r} is already appealed "
                               "(appeal {appeal_id}, {state}) for another reason", decision_no=latest.decision_no,
                               external_id=external_id, appeal_id=prior.id, state=prior.state), field="external_id")
        return item.id, False
    if repo.open_tasks(conn, item.id):
        raise Conflict(Msg("external_id: {external_id!r} is still being checked by a person (an audit of the "
                           "machine decision); appeal once that decision is in", external_id=external_id),
                       field="external_id")
    deadline = sla_deadline(project, now) or FAR_FUTURE
    task_id = appeal_task(conn, item=item, project=project, deadline=deadline, now=now)
    appeal_id = repo.insert_appeal(conn, {
        "client_id": item.client_id, "project_id": project.id, "item_id": item.id, "decision_id": latest.id,
        "reason": text, "state": "open", "task_id": task_id, "created_by": actor.id, "created_at": now,
    })
    append(conn, [
        event_row(entity="appeal", kind="create", at=now, actor_id=actor.id, client_id=item.client_id,
                  project_id=project.id, item_id=item.id, to_state="open",
                  data={"appeal_id": appeal_id, "decision_no": latest.decision_no}),
        event_row(entity="task", kind="create", at=now, actor_id=actor.id, client_id=item.client_id,
                  project_id=project.id, item_id=item.id, task_id=task_id, to_state="ready",
                  data={"appeal_id": appeal_id}),
    ])
    return item.id, True


def ingest(db: Database, actor: Actor, req: IngestRequest, *, upload: Spooled | None, media_root: Path,
           fetch: Callable[[str], Spooled], now: datetime | None = None) -> Ingested:
    """The whole ingest: check, answer a retry, fetch, store the media, write the item. See the module doc."""
    now = now or utcnow()
    try:
        checked = check_request(req, has_upload=upload is not None, now=now)
        with db.read() as conn:
            project = resolve_project(conn, actor, req.project)
        request_hash = fingerprint(checked, content=content_key(checked, upload))
        with db.read() as conn:  # a retry is answered before anything is fetched or stored
            twin = existing_or_conflict(conn, project, checked.external_id, request_hash)
        if twin is not None:
            return Ingested(item_id=twin.id, project=project, created=False)
        if checked.media_url is not None:
            upload = fetch(checked.media_url)
        kind = checked.kind or (upload.sniffed.kind if upload is not None else "text")
        if upload is not None and kind != upload.sniffed.kind:
            where = "media_url" if checked.media_url else "file"
            raise ValidationFailed(Msg("kind: the request says {kind!r} but the {where} is {mime}", kind=kind,
                                       where=where, mime=upload.sniffed.mime), field="kind")
        media_ref = store_media(upload, media_root=media_root, project_slug=project.slug) if upload else None
        upload = None
        with db.write() as conn:
            return insert(conn, project=project, checked=checked, kind=kind, request_hash=request_hash,
                          media_ref=media_ref, now=now)
    finally:
        if upload is not None:
            upload.discard()
