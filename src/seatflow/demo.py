"""The demo center: two clients, one project per work type, teams, people of every role, items.

Everything goes through the services, as a manager at the CLI would do it. Building is idempotent:
what exists is kept (clients, users, projects by their names; items by external id), so a second
run reuses the demo and an interrupted run completes. Content is generated from a fixed seed:
synthetic portraits drawn with Pillow, Chinese and English reviews, moderation captions and frames,
after-sales tickets with their orders. Passwords are kept in ``$SEATFLOW_HOME/demo-logins.json``
(readable by the owner only) so that a second run can print them again.
"""

from __future__ import annotations

import json
import random
import secrets
import shutil
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import func, select

from seatflow.config import Settings
from seatflow.domain.clock import utcnow
from seatflow.errors import Conflict
from seatflow.i18n.cli import _
from seatflow.i18n.message import Msg
from seatflow.services import accounts, imports, projects, status
from seatflow.services.imports import Record
from seatflow.store import catalog
from seatflow.store.engine import Database
from seatflow.store.migrate import alembic_config, upgrade
from seatflow.store.tables import items as items_table
from seatflow.store.tables import projects as projects_table

SEED = 20261212
MEDIA_FOLDER = "demo"
LOGINS_FILE = "demo-logins.json"

CLIENTS = [("jinghong-ai", "京鸿智能 Jinghong AI"), ("xunda-logistics", "迅达物流 Xunda Logistics")]
TEAMS = ["标注一组 Annotation A", "客服审核二组 Service B"]

PROJECTS: list[dict[str, Any]] = [
    {"slug": "face-landmarks", "name": "人像关键点 Face box + 5 landmarks", "client": "jinghong-ai",
     "work_type": "image_annotation", "workflow": "annotate(overlap=1) -> review(sample_rate=0.3)",
     "unit_price": "0.80", "instructions": "Draw one box around each face and place the five landmarks: "
     "left_eye and right_eye (as seen in the image), nose, mouth_left, mouth_right. Correct the model's "
     "pre-annotation where there is one. Class: usable, blurry or no_face."},
    {"slug": "review-sentiment", "name": "评论情感与实体 Review sentiment & entities", "client": "jinghong-ai",
     "work_type": "text_annotation", "workflow": "annotate(overlap=1) -> review(sample_rate=0.2)",
     "unit_price": "0.30", "instructions": "Pick the overall sentiment; mark people, organisations, places "
     "and products."},
    {"slug": "short-video-moderation", "name": "短视频预审 Pre-publication moderation", "client": "jinghong-ai",
     "work_type": "moderation", "workflow": "annotate(overlap=1)", "sla_minutes": 15, "unit_price": "0.12",
     "instructions": "Decide before the platform publishes: approve, reject with the policy's reasons, or "
     "escalate when unsure."},
    {"slug": "after-sales", "name": "双12售后客服 After-sales service", "client": "xunda-logistics",
     "work_type": "service_ticket", "workflow": "annotate(overlap=1) -> review(sample_rate=0.1)",
     "sla_minutes": 30, "unit_price": "2.50", "instructions": "Answer within 30 minutes. Use a canned reply "
     "when it fits, check the order status first, pick a disposition."},
]
SHARES = {"face-landmarks": 0.3, "review-sentiment": 0.25, "short-video-moderation": 0.25, "after-sales": 0.2}

# username, role, display name, team index, client slug, locale, {project: skills}
Skills = dict[str, tuple[str, ...]]
ANNOTATE: tuple[str, ...] = ("annotate",)
BOTH: tuple[str, ...] = ("annotate", "review")
TEAM_A: Skills = {"face-landmarks": ANNOTATE, "review-sentiment": ANNOTATE}
TEAM_A_SENIOR: Skills = {"face-landmarks": BOTH, "review-sentiment": BOTH}
TEAM_B: Skills = {"short-video-moderation": ANNOTATE, "after-sales": ANNOTATE}
TEAM_B_SENIOR: Skills = {"short-video-moderation": BOTH, "after-sales": BOTH}
PEOPLE: list[tuple[str, str, str, int | None, str | None, str, Skills]] = [
    ("admin", "admin", "系统管理员 Admin", None, None, "en", {}),
    ("manager", "manager", "运营经理 刘洋", None, None, "zh_CN", {}),
    ("lead_a", "lead", "组长 陈静", 0, None, "zh_CN", TEAM_A_SENIOR),
    ("lead_b", "lead", "组长 杨磊", 1, None, "zh_CN", TEAM_B_SENIOR),
    ("worker01", "worker", "张伟", 0, None, "zh_CN", TEAM_A),
    ("worker02", "worker", "李娜", 0, None, "zh_CN", TEAM_A),
    ("worker03", "worker", "王芳", 0, None, "zh_CN", TEAM_A_SENIOR),
    ("worker04", "worker", "赵敏", 0, None, "en", {**TEAM_A_SENIOR, "short-video-moderation": ANNOTATE}),
    ("worker05", "worker", "黄强", 1, None, "zh_CN", TEAM_B),
    ("worker06", "worker", "周婷", 1, None, "zh_CN", TEAM_B),
    ("worker07", "worker", "吴昊", 1, None, "zh_CN", TEAM_B_SENIOR),
    ("worker08", "worker", "徐丽", 1, None, "zh_CN", {**TEAM_B_SENIOR, "review-sentiment": ANNOTATE}),
    ("jinghong", "client", "京鸿智能 数据部", None, "jinghong-ai", "zh_CN", {}),
    ("xunda", "client", "迅达物流 客服中心", None, "xunda-logistics", "zh_CN", {}),
]


@dataclass
class Login:
    username: str
    role: str
    display_name: str
    password: str | None  # None: the user existed before and its password is not known here


@dataclass
class DemoCenter:
    created: bool  # False when an existing demo was reused as it was
    logins: list[Login] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=dict)  # project slug -> items in the project


Log = Callable[[str], None]


def build(db: Database, conf: Settings, *, items: int = 300, reset: bool = False, log: Log = print) -> DemoCenter:
    """Create (or complete, or with ``reset`` recreate) the demo center in ``db``."""
    media_root = conf.resolved_media_dir()
    logins_path = conf.resolved_home() / LOGINS_FILE
    if reset:
        _wipe(db, media_root, logins_path, log)
    known = _read_logins(logins_path)
    created = False

    with db.write() as conn:
        for slug, name in CLIENTS:
            if catalog.client_by_slug(conn, slug) is None:
                accounts.create_client(conn, None, slug=slug, name=name)
                created = True
        for team_name in TEAMS:
            if catalog.team_by_name(conn, team_name) is None:
                accounts.create_team(conn, None, name=team_name)
        for spec in PROJECTS:
            if catalog.project_by_slug(conn, spec["slug"]) is None:
                projects.create_project(conn, None, spec)
                created = True

    logins: list[Login] = []
    with db.write() as conn:
        for username, role, display, team, client, locale, skills in PEOPLE:
            password = known.get(username)
            if catalog.user_by_username(conn, username) is None:
                password = secrets.token_urlsafe(9)
                accounts.create_user(conn, None, username=username, password=password, role=role,
                                     display_name=display, client_slug=client,
                                     team=TEAMS[team] if team is not None else None, locale=locale)
                known[username] = password
                created = True
            for project, granted in skills.items():
                for skill in granted:
                    accounts.grant(conn, None, username=username, project_slug=project, skill=skill)
            logins.append(Login(username, role, display, password))
    _write_logins(logins_path, known)

    wanted = _split(items)
    with db.read() as conn:
        have = {row.slug: row.items for row in status.project_status(conn, None)}
    for spec in PROJECTS:
        slug = spec["slug"]
        if have.get(slug, 0) >= wanted[slug]:
            continue
        log(_("generating {n} items for {project} ...").format(n=wanted[slug], project=slug))
        records = GENERATORS[slug](wanted[slug], media_root)
        report = imports.import_records(db, None, slug, records, source=f"demo/{slug}",
                                        batch_name="demo", batch_size=500)
        if report.error:  # the generator and the schemas disagree: a bug, not a user error
            raise RuntimeError(f"demo data for {slug} was rejected: {report.error}")
        created = created or report.imported > 0
    # Gold items (known answers) for the review project: mixed into workers' streams and scored, so a
    # worker's home and the quality report have numbers to show. Imported once (by external id).
    with db.read() as conn:
        have_gold = conn.execute(select(func.count()).select_from(items_table).join(
            projects_table, projects_table.c.id == items_table.c.project_id).where(
            projects_table.c.slug == "review-sentiment", items_table.c.gold.is_(True))).scalar_one()
    if have_gold < GOLD_TEXTS:
        report = imports.import_records(db, None, "review-sentiment", gold_texts(GOLD_TEXTS), source="demo/gold",
                                        batch_name="demo gold", batch_size=500)
        if report.error:
            raise RuntimeError(f"demo gold for review-sentiment was rejected: {report.error}")
    with db.read() as conn:
        counts = {row.slug: row.items for row in status.project_status(conn, None)}
    return DemoCenter(created=created, logins=logins, items={s["slug"]: counts.get(s["slug"], 0) for s in PROJECTS})


def _split(total: int) -> dict[str, int]:
    n = {slug: max(1, round(total * share)) for slug, share in SHARES.items()}
    n["face-landmarks"] += max(total - sum(n.values()), 0)
    return n


# -- reset and the logins file ---------------------------------------------------------------
def _wipe(db: Database, media_root: Path, logins_path: Path, log: Log) -> None:
    """Drop and recreate the schema, but only in a database that holds nothing but the demo."""
    with db.read() as conn:
        rows, _total = catalog.list_clients(conn, client_id=None, offset=0, limit=1000)
    demo = {slug for slug, _name in CLIENTS}
    foreign = sorted(r.slug for r in rows if r.slug not in demo)
    if foreign:
        raise Conflict(
            Msg("--reset deletes the whole database, and this one holds more than the demo (client(s) {clients}); "
                "point SEATFLOW_HOME or SEATFLOW_DATABASE_URL at a demo database", clients=", ".join(foreign)),
            field="reset",
        )
    log(_("deleting the demo center ..."))
    cfg = alembic_config()
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            # Dropping tables that hold rows trips SQLite's foreign keys; the pragma only takes
            # effect outside a transaction, so set it on the driver connection before any BEGIN.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        cfg.attributes["connection"] = conn.execution_options(seatflow_write=True)
        command.downgrade(cfg, "base")
        conn.commit()
        if db.dialect == "sqlite":
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    upgrade(db.engine)
    shutil.rmtree(media_root / MEDIA_FOLDER, ignore_errors=True)
    logins_path.unlink(missing_ok=True)


def _read_logins(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(logins, indent=2, ensure_ascii=False), encoding="utf-8")


# -- content: synthetic portraits ----------------------------------------------------------------
SIZES = [(640, 480), (800, 600), (1024, 768), (720, 960), (1280, 720)]
SKIN = [(241, 194, 167), (224, 172, 140), (198, 144, 110), (250, 214, 186), (176, 122, 92)]
HAIR = [(30, 24, 20), (60, 40, 30), (20, 20, 25), (110, 80, 50), (150, 150, 150)]
CLOTHES = [(52, 101, 164), (190, 60, 60), (70, 140, 90), (90, 90, 110), (230, 180, 60), (240, 240, 240)]


def _gradient(w: int, h: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    column = Image.new("RGB", (1, h))
    for y in range(h):
        t = y / max(h - 1, 1)
        column.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return column.resize((w, h))


def _color(rng: random.Random, lo: int = 60, hi: int = 230) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _draw_person(draw: Any, rng: random.Random, cx: float, cy: float, fw: float,
                 size: tuple[int, int], glasses: bool) -> dict[str, Any]:
    """A simple face; returns its box and five landmarks (left/right as seen in the image)."""
    w, h = size
    fh = fw * 1.3
    yaw = rng.uniform(-0.18, 0.18)  # features shift sideways when the head turns
    draw.ellipse([cx - fw * 1.1, cy + fh * 0.55, cx + fw * 1.1, cy + fh * 2.2], fill=rng.choice(CLOTHES))
    draw.rectangle([cx - fw * 0.18, cy + fh * 0.35, cx + fw * 0.18, cy + fh * 0.7], fill=rng.choice(SKIN))
    hair = rng.choice(HAIR)
    draw.ellipse([cx - fw * 0.55, cy - fh * 0.58, cx + fw * 0.55, cy + fh * 0.1], fill=hair)
    draw.ellipse([cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2], fill=rng.choice(SKIN))
    draw.chord([cx - fw * 0.52, cy - fh * 0.56, cx + fw * 0.52, cy - fh * 0.05], 180, 360, fill=hair)
    off = yaw * fw
    eyes = [(cx - fw * 0.2 + off, cy - fh * 0.06), (cx + fw * 0.2 + off, cy - fh * 0.06)]
    er = fw * 0.07
    for ex, ey in eyes:
        draw.ellipse([ex - er * 1.4, ey - er, ex + er * 1.4, ey + er], fill=(250, 250, 250))
        draw.ellipse([ex - er * 0.6, ey - er * 0.6, ex + er * 0.6, ey + er * 0.6], fill=(40, 30, 25))
    if glasses:
        for ex, ey in eyes:
            draw.ellipse([ex - er * 2.4, ey - er * 1.9, ex + er * 2.4, ey + er * 1.9], outline=(20, 20, 20),
                         width=max(2, int(fw * 0.015)))
        draw.line([eyes[0][0] + er * 2.4, eyes[0][1], eyes[1][0] - er * 2.4, eyes[1][1]], fill=(20, 20, 20),
                  width=max(2, int(fw * 0.015)))
    nose = (cx + off * 1.3, cy + fh * 0.1)
    draw.polygon([(nose[0], nose[1] - fh * 0.1), (nose[0] - fw * 0.06, nose[1] + fh * 0.02),
                  (nose[0] + fw * 0.06, nose[1] + fh * 0.02)], fill=(190, 120, 100))
    mouth = [(cx - fw * 0.16 + off, cy + fh * 0.25), (cx + fw * 0.16 + off, cy + fh * 0.25)]
    draw.arc([mouth[0][0], mouth[0][1] - fh * 0.06, mouth[1][0], mouth[1][1] + fh * 0.06], 10, 170,
             fill=(150, 50, 60), width=max(2, int(fw * 0.025)))
    box = [cx - fw / 2, cy - fh / 2, fw, fh]
    points = [eyes[0], eyes[1], nose, mouth[0], mouth[1]]
    pose = "frontal" if abs(yaw) < 0.12 else "other"
    return {"box": box, "points": points, "occluded": glasses, "pose": pose, "size": (w, h)}


def _prediction(rng: random.Random, faces: list[dict[str, Any]], w: int, h: int, cls: str) -> dict[str, Any]:
    """A model's pre-annotation: the true shapes with some error (for the worker to correct)."""
    def jitter(v: float, scale: float, hi: float) -> float:
        return round(min(max(v + rng.gauss(0, scale), 0.0), hi), 1)

    boxes, keypoints = [], []
    for f in faces:
        x, y, bw, bh = f["box"]
        x2, y2 = jitter(x + bw, bw * 0.04, w), jitter(y + bh, bh * 0.04, h)
        x1, y1 = jitter(x, bw * 0.04, x2 - 1), jitter(y, bh * 0.04, y2 - 1)
        boxes.append({"label": "face", "x": x1, "y": y1, "w": round(x2 - x1, 1), "h": round(y2 - y1, 1)})
        keypoints.append({"label": "face", "points": [[jitter(px, bw * 0.03, w), jitter(py, bw * 0.03, h), 2]
                                                      for px, py in f["points"]]})
    return {"boxes": boxes, "keypoints": keypoints, "class": cls}


def _portrait(rng: random.Random, path: Path, render: bool) -> dict[str, Any]:
    w, h = rng.choice(SIZES)
    kind = rng.choices(["one", "two", "none"], weights=[80, 14, 6])[0]
    blurry = kind != "none" and rng.random() < 0.12
    top, bottom = _color(rng, 120, 240), _color(rng, 40, 160)  # drawn either way: the sequence stays the same
    img = _gradient(w, h, top, bottom) if render else None
    draw = ImageDraw.Draw(img) if img is not None else _NullDraw()
    faces: list[dict[str, Any]] = []
    if kind == "none":
        for _i in range(rng.randint(3, 7)):  # a room or a street: boxes and circles, nobody in it
            x, y = rng.uniform(0, w * 0.8), rng.uniform(0, h * 0.8)
            shape = [x, y, x + rng.uniform(40, w * 0.3), y + rng.uniform(40, h * 0.3)]
            (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(shape, fill=_color(rng))
    else:
        n = 1 if kind == "one" else 2
        for i in range(n):
            fw = rng.uniform(0.2, 0.34) * min(w, h) if n == 1 else rng.uniform(0.14, 0.2) * min(w, h)
            slot = w / (n + 1) * (i + 1)
            cx = slot + rng.uniform(-0.05, 0.05) * w
            cy = rng.uniform(h * 0.3, h * 0.45)
            faces.append(_draw_person(draw, rng, cx, cy, fw, (w, h), glasses=rng.random() < 0.2))
    if img is not None:
        if blurry:
            img = img.filter(ImageFilter.GaussianBlur(radius=6))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".png":
            img.save(path, optimize=True)
        else:
            img.save(path, quality=85, optimize=True)
    cls = "no_face" if kind == "none" else ("blurry" if blurry else "usable")
    return {"width": w, "height": h, "faces": faces, "class": cls}


class _NullDraw:
    """Stands in for ImageDraw when the image exists already: the random draws stay the same."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def _rng(slug: str, i: int) -> random.Random:
    """Each item's own random stream: its content depends on its number only."""
    return random.Random(f"{SEED}-{slug}-{i}")


def faces(n: int, media_root: Path) -> Iterator[Record]:
    due = (utcnow() + timedelta(days=3)).isoformat()
    for i in range(1, n + 1):
        rng = _rng("face-landmarks", i)
        suffix = ".png" if i % 5 == 0 else ".jpg"
        ref = f"{MEDIA_FOLDER}/face-landmarks/portrait_{i:04d}{suffix}"
        path = media_root / ref
        shot = _portrait(rng, path, render=not path.exists())
        payload: dict[str, Any] = {"image": ref, "width": shot["width"], "height": shot["height"],
                                   "meta": {"source": "synthetic", "camera": rng.choice(["phone", "dslr", "cctv"])}}
        if rng.random() < 0.5:
            payload["predictions"] = _prediction(rng, shot["faces"], shot["width"], shot["height"], shot["class"])
        yield Record("demo/face-landmarks", i, {"external_id": f"portrait-{i:04d}", "payload": payload,
                                                "deadline": due, "priority": rng.choice([0, 0, 0, 5])})


# -- content: texts ------------------------------------------------------------------------------
CITIES = ["成都", "重庆", "内江", "绵阳", "宜宾", "自贡", "泸州", "乐山"]
CITIES_EN = ["Chengdu", "Chongqing", "Neijiang", "Mianyang", "Yibin", "Zigong", "Luzhou", "Leshan"]
NAMES_EN = ["Li Wei", "Zhang Min", "Wang Fang", "Chen Jing", "Anna", "Mr. Liu"]
PRODUCTS_ZH = ["小米空气净化器 4", "华为 Mate 60 手机壳", "三只松鼠坚果礼盒", "李宁跑鞋 超轻21", "美的电饭煲",
               "安踏羽绒服", "九阳豆浆机", "罗技无线鼠标", "良品铺子零食大礼包", "格力电风扇"]
PRODUCTS_EN = ["Anker power bank", "Logitech keyboard", "Philips shaver", "Lenovo ThinkPad charger",
               "Xiaomi smart band", "Nike running shoes"]
REVIEWS_ZH = [
    ("positive", "在{city}收到的{product}，质量很好，物流也快，下次还会再买。"),
    ("positive", "{product}做工不错，客服{name}态度很好，五星好评！"),
    ("neutral", "{product}一般般吧，和描述差不多，从{city}发货用了三天。"),
    ("neutral", "双12买的{product}，还没怎么用，先给个中评。"),
    ("negative", "{product}收到就坏了，联系客服也没人理，{city}的快递太慢了。"),
    ("negative", "包装破损，{product}有划痕，要求退货，{name}说要等审核。"),
]
REVIEWS_EN = [
    ("positive", "The {product} arrived in {city} two days early and works perfectly. Great seller!"),
    ("neutral", "The {product} is fine, nothing special. Delivery to {city} took a week."),
    ("negative", "My {product} stopped working after one day and {name} from support never called back."),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "桂英", "建华", "志强", "晓燕"]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


SPAN_OF_FIELD = {"city": "LOC", "product": "PRODUCT", "name": "PER"}
GOLD_TEXTS = 12
GOLD_FIRST = 9001  # gold ids look like the others' (review-9001...): nothing tells a worker which is gold


def _review(i: int) -> tuple[str, str, list[dict[str, Any]], bool]:
    """Review ``i``: (sentiment, text, its entity spans, english), the spans where the template put names."""
    rng = _rng("review-sentiment", i)
    english = i % 3 == 0  # a third of the reviews are in English
    sentiment, template = rng.choice(REVIEWS_EN if english else REVIEWS_ZH)
    if english:
        fill = {"city": rng.choice(CITIES_EN), "product": rng.choice(PRODUCTS_EN), "name": rng.choice(NAMES_EN)}
    else:
        fill = {"city": rng.choice(CITIES), "product": rng.choice(PRODUCTS_ZH), "name": _person(rng)}
    text, spans = "", []
    for literal, field_name, _spec, _conv in string.Formatter().parse(template):
        text += literal
        if field_name:
            value = fill[field_name]
            spans.append({"start": len(text), "end": len(text) + len(value), "label": SPAN_OF_FIELD[field_name]})
            text += value
    return sentiment, text, spans, english


def texts(n: int, media_root: Path) -> Iterator[Record]:
    due = (utcnow() + timedelta(days=2)).isoformat()
    for i in range(1, n + 1):
        _sentiment, text, _spans, english = _review(i)
        yield Record("demo/review-sentiment", i, {
            "external_id": f"review-{i:04d}", "deadline": due,
            "payload": {"text": text, "meta": {"lang": "en" if english else "zh", "shop": "京东 JD.com"}}})


def gold_texts(n: int) -> Iterator[Record]:
    """Reviews with their known answer (sentiment and entity spans) in ``payload.gold``."""
    for k in range(n):
        i = GOLD_FIRST + k
        sentiment, text, spans, english = _review(i)
        yield Record("demo/gold", k + 1, {
            "external_id": f"review-{i:04d}",
            "payload": {"text": text, "meta": {"lang": "en" if english else "zh", "shop": "京东 JD.com"},
                        "gold": {"classes": [sentiment], "spans": spans}}})


# -- content: moderation -------------------------------------------------------------------------
CAPTIONS = [
    (0.05, "今天在内江甜城湖边拍的日落，太美了 #旅行"), (0.04, "教大家做一道川菜：回锅肉，简单又下饭"),
    (0.08, "Morning run along the river in Chengdu, 10 km done!"), (0.06, "我家猫又把杯子推下桌了 😂"),
    (0.1, "双12开箱：买了三件衣服，试穿给大家看"), (0.07, "Unboxing my new phone, first impressions"),
    (0.85, "加V信 xd8899 领取返利，轻松日赚五百，名额有限！"), (0.9, "Cheap iPhones, no receipt, DM me for the price"),
    (0.7, "完整版电影资源在主页，免费看最新大片"), (0.6, "这段打架视频太刺激了，血都流出来了"),
    (0.75, "代办各类证件，包过，价格私聊"), (0.5, "搬运自某平台的热门视频，侵删"),
]


def _frame(rng: random.Random, path: Path) -> None:
    w, h = rng.choice([(360, 640), (540, 960)])
    img = _gradient(w, h, _color(rng), _color(rng, 20, 120))
    draw = ImageDraw.Draw(img)
    for _i in range(rng.randint(2, 6)):
        x, y = rng.uniform(0, w * 0.7), rng.uniform(0, h * 0.8)
        shape = [x, y, x + rng.uniform(30, w * 0.5), y + rng.uniform(30, h * 0.3)]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=_color(rng))
    draw.rectangle([0, h * 0.85, w, h], fill=(0, 0, 0))  # the caption bar of a video cover
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=80)


def moderation(n: int, media_root: Path) -> Iterator[Record]:
    now = utcnow()
    for i in range(1, n + 1):
        rng = _rng("short-video-moderation", i)
        risk, caption = rng.choice(CAPTIONS)
        score = round(min(max(risk + rng.uniform(-0.05, 0.1), 0.0), 1.0), 2)
        meta = {"author": f"user{rng.randint(10000, 99999)}", "caption": caption, "platform": "short-video"}
        if i % 2 == 0:  # half are video covers (images), half captions or comments (text)
            ref = f"{MEDIA_FOLDER}/short-video-moderation/cover_{i:04d}.jpg"
            path = media_root / ref
            if not path.exists():
                _frame(_rng("cover", i), path)
            payload: dict[str, Any] = {"kind": "image", "media": ref, "meta": meta, "prescreen_score": score}
        else:
            payload = {"kind": "text", "text": caption, "meta": meta, "prescreen_score": score}
        due = now + timedelta(minutes=15 - rng.randint(0, 10))  # posted in the last minutes: 15-minute SLA
        yield Record("demo/short-video-moderation", i, {
            "external_id": f"post-{i:04d}", "payload": payload, "deadline": due.isoformat(),
            "priority": 10 if score >= 0.7 else 0})


# -- content: after-sales tickets ----------------------------------------------------------------
STATUSES = ["运输中 in transit", "派送中 out for delivery", "已签收 delivered", "滞留 held at depot",
            "退回中 returning"]
ISSUES = [
    ("where", "我的快递{order_id}三天没动了，到底到哪了？"),
    ("where", "你好，请问订单{order_id}什么时候能送到{city}？"),
    ("delay", "双12买的{product}到现在还没到，太慢了！订单号{order_id}。"),
    ("damaged", "收到的{product}外箱压坏了，里面也有裂痕，怎么处理？"),
    ("refund", "{product}不想要了，已经拒收，退款什么时候到账？"),
    ("address", "能不能帮我把{order_id}的收货地址改成{city}高新区？"),
    ("where", "Hi, my parcel {order_id} shows delivered but I never got it. Please check."),
]


def tickets(n: int, media_root: Path) -> Iterator[Record]:
    now = utcnow()
    for i in range(1, n + 1):
        rng = _rng("after-sales", i)
        _issue, template = rng.choice(ISSUES)
        city = rng.choice(CITIES)
        product = rng.choice(PRODUCTS_ZH)
        order_id = f"XD2026121{rng.randint(2, 5)}{rng.randint(100000, 999999)}"
        vip = rng.random() < 0.15
        order = {"order_id": order_id, "product": product, "status": rng.choice(STATUSES),
                 "tracking_no": f"XD{rng.randint(10**11, 10**12 - 1)}", "city": city,
                 "depot": rng.choice(["内江分拨中心", "成都双流转运中心", "重庆江北分拨中心"]),
                 "amount": round(rng.uniform(19, 2999), 2)}
        customer = {"name": _person(rng), "phone": f"1{rng.randint(30, 99)}****{rng.randint(1000, 9999)}",
                    "vip": vip, "city": city}
        due = now + timedelta(minutes=30 - rng.randint(0, 20))  # first response within 30 minutes
        yield Record("demo/after-sales", i, {
            "external_id": f"ticket-{i:05d}", "priority": 10 if vip else 0, "deadline": due.isoformat(),
            "payload": {"customer": customer, "order": order, "channel": rng.choice(["chat", "chat", "phone", "email"]),
                        "message": template.format(order_id=order_id, product=product, city=city)}})


GENERATORS: dict[str, Callable[[int, Path], Iterator[Record]]] = {
    "face-landmarks": faces, "review-sentiment": texts, "short-video-moderation": moderation, "after-sales": tickets,
}
