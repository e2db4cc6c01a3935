"""The moderation gate's API: clients push items and appeal decisions; leads watch deadlines and add seats.

``POST /api/v1/moderation/items`` takes either ``multipart/form-data`` (the media as ``file``, the
other fields as form fields, ``metadata`` as a JSON text) or ``application/json`` (``media_url`` or
``text``, ``metadata`` as an object). The project is the body field ``project`` (a slug; a client
with one moderation project may leave it out). 201 for a new item, 200 for a repeated request.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.i18n.pydantic_errors import describe
from seatflow.moderation import fetch as fetcher
from seatflow.moderation.spool import Spooled, spool, too_large
from seatflow.services import media
from seatflow.services import moderation as service
from seatflow.services import moderation_reports as reports
from seatflow.services._tx import transact

from .deps import CurrentActor, Db

router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])

FIELDS = ("project", "external_id", "kind", "text", "media_url", "metadata", "deadline", "callback_url")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields around the file


class ItemJson(BaseModel):
    """The JSON form of a pushed item (the multipart form has the same fields plus ``file``)."""

    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(description="Your id of the item; a repeated request with it returns the same item")
    project: str | None = Field(default=None, description="Slug of your moderation project (optional if you have one)")
    kind: str | None = Field(default=None, description="image, video or text (default: from the content)")
    text: str | None = Field(default=None, description="The text to moderate (text items)")
    media_url: str | None = Field(default=None, description="An http(s) URL the server fetches the media from")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Your data about the item, kept as is")
    deadline: str | None = Field(default=None, description="ISO 8601 with a time zone; default: now + project SLA")
    callback_url: str | None = Field(default=None, description="Where decisions are delivered (signed webhooks)")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Why the decision should be made again")
    project: str | None = None


class SeatsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usernames: list[str] = Field(min_length=1, max_length=200)
    skill: str = Field(default="annotate",
                       description="annotate (moderators) or review (seniors: escalations, appeals)")


_PUSH_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ItemJson.model_json_schema()},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["external_id", "file"],
                "properties": {**{f: {"type": "string"} for f in FIELDS},
                               "file": {"type": "string", "format": "binary"}},
            }},
        },
    }
}


def _signer(request: Request, user_id: int) -> service.Signer:
    secret = request.app.state.secret
    return lambda ref: media.sign(secret, ref, user_id)


async def _read_request(request: Request, max_bytes: int) -> tuple[service.IngestRequest, UploadFile | None]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
            raise too_large("file", max_bytes)
        form = await request.form(max_files=1, max_fields=len(FIELDS) + 1)
        unknown = sorted(set(form.keys()) - set(FIELDS) - {"file"})
        if unknown:
            raise ValidationFailed(Msg("{field}: unknown field; the fields are {fields}", field=unknown[0],
                                       fields=", ".join((*FIELDS, "file"))), field=unknown[0])
        upload = form.get("file")
        if upload is not None and not isinstance(upload, UploadFile):
            raise ValidationFailed(Msg("file: send the media as a file part, not as text"), field="file")
        values = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        metadata: Any = {}
        if values.get("metadata"):
            try:
                metadata = json.loads(values["metadata"])
            except json.JSONDecodeError as exc:
                raise ValidationFailed(Msg("metadata: not valid JSON ({why})", why=exc.msg), field="metadata") from None
        fields = {k: (values.get(k) or None) for k in FIELDS if k != "metadata"}
        return service.IngestRequest(external_id=fields.pop("external_id") or "", metadata=metadata,
                                     **fields), upload
    if ctype in ("application/json", ""):
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            raise ValidationFailed(Msg("body: not valid JSON ({why}); send a JSON object", why=exc.msg),
                                   field="body") from None
        if not isinstance(data, dict):
            raise ValidationFailed(Msg("body: send a JSON object"), field="body")
        try:
            parsed = ItemJson.model_validate(data)
        except ValidationError as exc:  # name the first field, like every other error
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "body"
            raise ValidationFailed(Msg("{field}: {message}", field=field, message=describe(err)),
                                   field=field) from None
        return service.IngestRequest(**parsed.model_dump()), None
    raise ValidationFailed(Msg("body: Content-Type {ctype!r} is not accepted; send multipart/form-data or "
                               "application/json", ctype=ctype), field="body")


@router.post("/items", summary="Push an item to moderation (upload, URL or text)", status_code=201,
             openapi_extra=_PUSH_DOC)
async def push_item(request: Request, actor: CurrentActor, db: Db) -> JSONResponse:
    settings = request.app.state.settings
    media_root = request.app.state.media_root
    tmp = media_root / ".incoming"
    req, upload = await _read_request(request, settings.media_max_bytes)

    def run() -> tuple[dict[str, Any], bool]:
        spooled: Spooled | None = None
        if upload is not None:
            upload.file.seek(0)
            spooled = spool(iter(lambda: upload.file.read(1 << 16), b""), field="file",
                            max_bytes=settings.media_max_bytes, tmp_dir=tmp)

        def fetch(url: str) -> Spooled:
            return fetcher.fetch(url, tmp_dir=tmp, max_bytes=settings.media_max_bytes,
                                 timeout=settings.media_fetch_timeout_seconds,
                                 allow_private=settings.media_fetch_private,
                                 transport=getattr(request.app.state, "media_fetch_transport", None))

        done = service.ingest(db, actor, req, upload=spooled, media_root=media_root, fetch=fetch)
        with db.read() as conn:
            body = service.read_by_id(conn, done.item_id, _signer(request, actor.id))
        return body, done.created

    try:
        body, created = await run_in_threadpool(run)
    finally:
        if upload is not None:
            await upload.close()
    if created and body.get("state") == "processing_media":
        job = getattr(request.app.state, "media_job", None)
        if job is not None:
            job.wake()
    body["created"] = created
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/items/{external_id:path}", summary="An item's state, decisions and appeals")
def get_item(external_id: str, request: Request, actor: CurrentActor, db: Db,
             project: Annotated[str | None, Query(description="Project slug, when the id is in several")] = None
             ) -> dict[str, Any]:
    if external_id.endswith("/appeal"):
        raise ValidationFailed(Msg("an appeal is made with POST"), field="external_id")
    with db.read() as conn:
        return service.read(conn, actor, external_id=external_id, project_ref=project,
                            sign=_signer(request, actor.id))


@router.post("/items/{external_id:path}/appeal", summary="Appeal the item's latest decision", status_code=201)
def appeal(external_id: str, request: Request, actor: CurrentActor, db: Db, body: AppealIn) -> JSONResponse:
    item_id, created = transact(db, lambda c: service.appeal(c, actor, external_id=external_id,
                                                              project_ref=body.project, reason=body.reason))
    with db.read() as conn:
        out = service.read_by_id(conn, item_id, _signer(request, actor.id))
    out["created"] = created
    return JSONResponse(out, status_code=201 if created else 200)


@router.get("/sla", summary="Time to decision p50/p95 and share within deadline, per project and hour")
def sla(actor: CurrentActor, db: Db,
        project: Annotated[str | None, Query(description="Only this project (slug)")] = None,
        hours: Annotated[int, Query(ge=1, le=744, description="The window: the last N hours")] = 24
        ) -> dict[str, Any]:
    with db.read() as conn:
        return reports.sla(conn, actor, project_ref=project, hours=hours)


@router.get("/projects/{ref}/forecast", summary="Queued items that will breach their deadline, and seats needed")
def forecast(ref: str, actor: CurrentActor, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        return reports.forecast(conn, actor, ref)


@router.post("/projects/{ref}/seats", summary="Qualify more people for a moderation project")
def add_seats(ref: str, actor: CurrentActor, db: Db, body: SeatsIn) -> dict[str, Any]:
    granted = transact(db, lambda c: reports.add_seats(c, actor, ref, usernames=body.usernames, skill=body.skill))
    return {"project": ref, "skill": body.skill, "granted": granted}
