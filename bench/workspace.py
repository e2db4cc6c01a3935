"""Workspace benchmark: headless Chromium works through items with the keyboard only.

    .venv/bin/python bench/workspace.py                      # 200 items of each work type, SQLite
    .venv/bin/python bench/workspace.py --backend postgres --pg-url postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python bench/workspace.py --smoke --json

It builds a fresh database (a SQLite file in a temporary folder, or a PostgreSQL database
``bench_workspace_<pid>`` on --pg-url's server, dropped at the end), migrated by seatflow itself, with
one project per work type (text_annotation, image_annotation, moderation, service_ticket), each with
enough items for both flows below (every image and video is its own file, so nothing comes from the
browser's cache of an earlier item), and two workers. It starts the real server (one ``uvicorn``
process on the app factory) and Debian's Chromium (Playwright, headless), logs a worker in through
the login form and opens the real workspace page ``/work/{project}``. For each work type, in turn:

* **stream** (the workspace as built): the worker answers --items items with keys only (text: a
  class; image: the class, keeping the model's box and landmarks; moderation: approve, or reject with
  a reason; ticket: a canned reply and a disposition), waits --think ms on each item (a real worker
  takes seconds; the wait gives the prefetch a fair but short chance) and presses Enter.
* **page-per-item baseline** (a UI that waits on the server): the same page, but Enter sends the
  answer with ``POST /api/v1/leases/{id}/submit``, waits for the answer, and then loads the page again
  (a fresh request for the next item: the page, its lease, the item's media). The page takes no
  lease ahead in this flow (its second lease request is answered "no work" inside the page, without
  the network), so the baseline does not pay for a prefetch it cannot use.

What is measured, in the page, for each item: from the submit key press (the keydown's timeStamp,
the moment Chromium received the key) to the next item being **ready**:

1. the workspace's ``seatflow:item-ready`` event for it (docs/workspace-contract.md: the item's view is
   mounted, on screen and focused) -- printed as "event";
2. and then every ``<img>`` in the item decoded, every ``<video>`` with a frame to show, the image
   editor's canvas sized and drawn with its image, the keyboard focus inside the item and the item not
   ``inert`` (checked on each animation frame until true);
3. and then the next frame painted (a task posted from the following requestAnimationFrame runs after
   that frame is painted) -- printed as "ready": this is the figure judged against the target.

For the baseline, both ends are on different pages: they are compared as ``performance.timeOrigin +
timeStamp`` (both high-resolution, same clock). Also counted: items whose prepared successor was not
yet ready when Enter was pressed, and the answers the server stored (checked in the database).

A control, in the stream flow: before each item's keys the bench presses Shift alone (which changes
nothing) and measures from it to the next painted frame the same way ("idle frame"): what the
machine takes to paint a frame at all under its current load, the floor under "ready".

The target of issue 3: p95 <= 50 ms from the submit key to the next item ready, for every work type.
A ``RESULT {json}`` line per flow and work type is printed for machines; --json prints one JSON
document (and the human output goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_PG_ADMIN_URL, AppServer, Latency, machine_info, pg_create, pg_drop, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--autoplay-policy=no-user-gesture-required"]
PASSWORD = "bench-seat-1"
TARGET_P95_MS = 50.0
WORK_TYPES = ("text_annotation", "image_annotation", "moderation", "service_ticket")

TEXT_SCHEMA: dict[str, Any] = {"classes": ["positive", "neutral", "negative"], "multi_label": False,
                               "span_labels": ["PER", "ORG", "LOC", "PRODUCT"]}
IMAGE_NAMES = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
IMAGE_SCHEMA: dict[str, Any] = {
    "labels": [{"name": "face", "key": "f"}, {"name": "person", "key": "p"}],
    "tools": ["bbox", "keypoints", "classify"],
    "keypoints": {"names": IMAGE_NAMES, "label": "face"},
    "classes": ["usable", "blurry", "no_face"],
}
TICKET_SCHEMA: dict[str, Any] = {
    "dispositions": [{"code": "resolved", "title": "Resolved by this reply"},
                     {"code": "refund", "title": "Refund or compensation"},
                     {"code": "follow_up", "title": "Waiting on the depot"}],
    "canned_replies": [
        {"key": "where", "title": "Where is my parcel",
         "text": "Hello {customer_name}, your order {order_id} is {status}, tracking number {tracking_no}."},
        {"key": "delay", "title": "Sorry for the delay",
         "text": "Hello {customer_name}, we are sorry that order {order_id} is late; the depot will hurry."},
    ],
}
SENTENCES = [
    "Zhang Wei bought a Huawei phone on JD; delivery was fast and the box was fine.",
    "Li Na says the shop in Hangzhou was so-so, but the Xiaomi earbuds sound all right.",
    "Anna bought a Kindle from Amazon in Berlin and loves it.",
    "Sam waited two weeks for the Lenovo laptop; the shop in Leeds never answered.",
    "物流很快，包装也很好，客服回复及时，下次还会再来这家店买东西。",
]


def log(*args: Any) -> None:
    print(*args, file=OUT, flush=True)


OUT = sys.stdout


# --- media --------------------------------------------------------------------------------------


def make_face(path: Path, n: int) -> None:
    """A 640x480 JPEG with a 'face' whose place and colours change with n."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (120 + n * 7 % 100, 150 + n * 3 % 80, 200 - n * 5 % 90))
    d = ImageDraw.Draw(img)
    dx = (n * 13) % 60 - 30
    d.ellipse((230 + dx, 110, 410 + dx, 340), fill=(230, 190 - n % 40, 160))
    for x, y in ((282, 200), (358, 200)):
        d.ellipse((x + dx - 8, y - 6, x + dx + 8, y + 6), fill=(40, 40, 40))
    d.line((290 + dx, 285, 350 + dx, 285), fill=(150, 40, 40), width=5)
    d.text((10, 10), f"face {n}", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85)


def make_frame(path: Path, n: int) -> None:
    """A 640x360 JPEG 'post'."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 360), (60 + n * 11 % 150, 90 + n * 7 % 120, 140))
    d = ImageDraw.Draw(img)
    d.rectangle((40 + n % 200, 60, 300 + n % 200, 300), fill=(240, 220, 120))
    d.text((20, 20), f"post {n}", fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85)


def make_video(path: Path, seconds: int = 3) -> None:
    """A short 320x180 VP8 WebM (10 fps): the colour changes each second, a square crosses."""
    import av
    from PIL import Image, ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    colours = [(200, 70, 60), (220, 150, 40), (90, 160, 80), (60, 130, 200)]
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for n in range(seconds * 10):
            img = Image.new("RGB", (320, 180), colours[n // 10 % len(colours)])
            ImageDraw.Draw(img).rectangle((10 + n * 8, 70, 50 + n * 8, 110), fill=(255, 255, 255))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


# --- the center ---------------------------------------------------------------------------------


@dataclass
class Setup:
    url: str
    tmp: str
    pg_name: str | None
    projects: dict[str, int]  # work type -> project id
    users: dict[str, int]  # username -> id
    videos: bool


def items_for(work_type: str, count: int, media: Path, videos: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    clip: Path | None = None
    if work_type == "moderation" and videos:
        clip = media / "bench" / "clip.webm"
        make_video(clip)
    for n in range(count):
        prio = count - n  # taken in order
        if work_type == "text_annotation":
            text = " ".join(SENTENCES[(n + k) % len(SENTENCES)] for k in range(1 + n % 3))
            rows.append({"external_id": f"text-{n:04d}", "priority": prio, "payload": {"text": f"[{n}] {text}"}})
        elif work_type == "image_annotation":
            ref = f"bench/faces/face-{n:04d}.jpg"
            make_face(media / ref, n)
            dx = (n * 13) % 60 - 30
            predictions = {
                "boxes": [{"label": "face", "x": 236 + dx, "y": 116, "w": 170, "h": 220, "attributes": {}}],
                "keypoints": [{"label": "face", "points": [[284 + dx, 198, 2], [356 + dx, 202, 2],
                                                           [321 + dx, 247, 2], [292 + dx, 287, 2],
                                                           [348 + dx, 287, 1]]}],
                "polygons": [], "class": None, "model": "bench-face-v1"}
            rows.append({"external_id": f"face-{n:04d}", "priority": prio,
                         "payload": {"image": ref, "width": 640, "height": 480, "predictions": predictions}})
        elif work_type == "moderation":
            kind = ("image", "text", "image", "video")[n % 4] if videos else ("image", "text")[n % 2]
            payload: dict[str, Any] = {"kind": kind, "prescreen_score": round((n * 37 % 100) / 100, 2)}
            if kind == "image":
                ref = f"bench/posts/post-{n:04d}.jpg"
                make_frame(media / ref, n)
                payload |= {"media": ref, "meta": {"caption": f"post {n}"}}
            elif kind == "video":
                ref = f"bench/clips/clip-{n:04d}.webm"
                (media / ref).parent.mkdir(parents=True, exist_ok=True)
                assert clip is not None
                shutil.copyfile(clip, media / ref)  # its own URL: never from the browser's cache
                payload |= {"media": ref}
            else:
                payload |= {"text": f"Post {n}: add me on WeChat for a free membership, only today!"}
            rows.append({"external_id": f"post-{n:04d}", "priority": prio,
                         "deadline": (now + timedelta(hours=4)).isoformat(), "payload": payload})
        else:
            rows.append({"external_id": f"ticket-{n:04d}", "priority": prio, "payload": {
                "customer": {"name": f"Customer {n}"},
                "message": "Where is my parcel? The tracking has not moved for three days.",
                "channel": "chat",
                "order": {"order_id": f"SO-2026-{n:05d}", "status": "in transit", "tracking_no": f"SF{n:010d}",
                          "items": ["down jacket x1"]}}})
    return rows


def create_center(kind: str, pg_admin: str, per_type: int) -> Setup:
    from argon2 import PasswordHasher

    from seatflow.services import accounts, imports, projects
    from seatflow.services.imports import Record
    from seatflow.store.engine import Database, make_engine
    from seatflow.store.migrate import upgrade

    try:
        import av  # noqa: F401
        videos = True
    except ImportError:  # pragma: no cover - depends on the environment
        videos = False
    tmp = tempfile.mkdtemp(prefix="bench-workspace-")
    pg_name = None
    if kind == "postgres":
        pg_name = f"bench_workspace_{os.getpid()}"
        url = pg_create(pg_admin, pg_name)
    else:
        url = f"sqlite:///{tmp}/seatflow.db"
    media = Path(tmp) / "home" / "media"
    # cheap password hashes: the login is not what is measured
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    db = Database(make_engine(url))
    ids: dict[str, int] = {}
    users: dict[str, int] = {}
    schemas = {"text_annotation": TEXT_SCHEMA, "image_annotation": IMAGE_SCHEMA, "service_ticket": TICKET_SCHEMA}
    try:
        upgrade(db.engine)
        with db.write() as conn:
            accounts.create_client(conn, None, slug="bench", name="Bench client")
            for wt in WORK_TYPES:
                spec: dict[str, Any] = {"slug": f"ws-{wt.replace('_', '-')}", "name": f"Bench {wt}",
                                        "client": "bench", "work_type": wt, "workflow": "annotate(overlap=1)",
                                        "sla_minutes": 240}
                if wt in schemas:
                    spec["label_schema"] = schemas[wt]
                ids[wt] = projects.create_project(conn, None, spec)
            for username in ("seat-stream", "seat-paged"):
                users[username] = accounts.create_user(conn, None, username=username, password=PASSWORD,
                                                       role="worker", locale="en")
                for wt in WORK_TYPES:
                    accounts.grant(conn, None, username=username, project_slug=f"ws-{wt.replace('_', '-')}",
                                   skill="annotate")
        for wt in WORK_TYPES:
            rows = items_for(wt, per_type, media, videos)
            records = [Record("seed", i, r) for i, r in enumerate(rows, 1)]
            report = imports.import_records(db, None, f"ws-{wt.replace('_', '-')}", records, source="bench.jsonl")
            if report.error is not None:
                raise SystemExit(f"seeding {wt} failed: {report.error}")
    except BaseException:  # leave no database or media behind
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if pg_name:
            pg_drop(pg_admin, pg_name)
        raise
    db.dispose()
    return Setup(url, tmp, pg_name, ids, users, videos)


def stored_answers(setup: Setup) -> dict[tuple[str, str], int]:
    """(work type, username) -> submissions stored."""
    from sqlalchemy import func, select

    from seatflow.store import tables
    from seatflow.store.engine import Database, make_engine

    s = tables.submissions
    db = Database(make_engine(setup.url))
    out: dict[tuple[str, str], int] = {}
    try:
        with db.read() as conn:
            for wt, pid in setup.projects.items():
                for username, uid in setup.users.items():
                    out[(wt, username)] = int(conn.execute(select(func.count()).select_from(s).where(
                        s.c.project_id == pid, s.c.user_id == uid)).scalar_one())
    finally:
        db.dispose()
    return out


# --- in the page ----------------------------------------------------------------------------------

# Installed before the page's own scripts. It records each submit key press and, when the next item
# is shown (seatflow:item-ready), waits until the item is really ready (media, canvas, focus) and
# painted. In "paged" mode Enter submits through the API, waits for the server, then loads the page
# again; the key press time crosses the page load in sessionStorage (as timeOrigin + timeStamp).
MEASURE_JS = r"""
(() => {
  const MODE = %(mode)s;
  const B = window.__bench = { swaps: [], errors: [], items: 0, idle: [] };
  const ws = () => window.Seatflow && Seatflow.workspace && Seatflow.workspace.state;

  function mediaReady(slot) {
    const root = slot.el;
    if (root.inert || !root.contains(document.activeElement)) return false;
    for (const img of root.querySelectorAll('img')) if (!img.complete || !img.naturalWidth) return false;
    for (const v of root.querySelectorAll('video')) if (v.getAttribute('src') && v.readyState < 2) return false;
    const ed = slot.view && slot.view._debug && slot.view._debug.editor;
    if (ed && (!ed.vp.cw || !ed.img || !ed.img.naturalWidth)) return false;
    return true;
  }

  function whenReady(slot, done) {
    let frames = 0;
    const check = () => {
      if (ws().current !== slot) return done(null, frames);  // gone meanwhile (not expected)
      if (!mediaReady(slot)) { frames += 1; requestAnimationFrame(check); return; }
      requestAnimationFrame(() => {  // the frame that shows it ...
        const ch = new MessageChannel();
        ch.port1.onmessage = () => done(performance.now(), frames);  // ... is painted by now
        ch.port2.postMessage(0);
      });
    };
    check();
  }

  if (MODE === 'paged') {
    // no lease ahead: the second lease request of a page load is answered "no work" in the page
    const realFetch = window.fetch;
    let leases = 0;
    window.fetch = function (url, opts) {
      if (url === '/api/v1/leases' && opts && opts.method === 'POST' && ++leases > 1) {
        return Promise.resolve(new Response(JSON.stringify({ type: '/problems/no-work', title: 'No work',
          status: 404, detail: 'bench: no prefetch in the page-per-item flow' }),
          { status: 404, headers: { 'Content-Type': 'application/problem+json' } }));
      }
      return realFetch.apply(this, arguments);
    };
  }

  window.addEventListener('keydown', (e) => {
    if (e.key === 'Shift' && B.idleArmed) {
      B.idleArmed = false;  // armed by the bench: not the Shift of a Shift+1
      // the control: a key that changes nothing, to the next painted frame (the machine's floor)
      const t0 = e.timeStamp;
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => B.idle.push(performance.now() - t0);
        ch.port2.postMessage(0);
      });
      return;
    }
    if (e.key !== 'Enter' || e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
    const s = ws();
    if (!s || !s.current || !s.current.view) return;
    if (MODE === 'stream') {
      B.pending = { t0: e.timeStamp, from: s.current.lease.lease_id,
                    prepared: !!(s.ahead.length && s.ahead[0].isReady) };
      return;  // the workspace handles the key
    }
    e.stopImmediatePropagation();
    e.preventDefault();
    const t0 = performance.timeOrigin + e.timeStamp;
    const cur = s.current;
    let answer;
    try { answer = cur.view.answer(); } catch (err) { B.errors.push('answer: ' + err.message); return; }
    Seatflow.api.post('/api/v1/leases/' + cur.lease.lease_id + '/submit',
                      { answer: answer, duration_ms: 1000, idempotency_key: Seatflow.api.newKey() }).then(() => {
      sessionStorage.setItem('bench.t0', String(t0));
      s.current = null;  // submitted: nothing for the page to give back when it goes
      const n = Number(new URLSearchParams(location.search).get('n') || 0) + 1;
      location.assign(location.pathname + '?n=' + n);
    }, (err) => B.errors.push('submit: ' + (err.status || 0) + ' ' + err.message));
  }, true);

  document.addEventListener('seatflow:item-ready', (e) => {
    B.items += 1;
    const slot = ws().current;
    const at = e.detail.at;
    if (MODE === 'stream') {
      const p = B.pending;
      B.pending = null;
      if (!p) return;
      whenReady(slot, (painted, frames) => B.swaps.push({ event_ms: at - p.t0,
        ready_ms: painted === null ? null : painted - p.t0, media_frames: frames, prepared: p.prepared,
        from: p.from, to: e.detail.lease_id }));
      return;
    }
    const t0 = Number(sessionStorage.getItem('bench.t0') || 0);
    sessionStorage.removeItem('bench.t0');
    if (!t0) return;  // the first page
    const base = performance.timeOrigin;
    whenReady(slot, (painted, frames) => B.swaps.push({ event_ms: base + at - t0,
      ready_ms: painted === null ? null : base + painted - t0, media_frames: frames, prepared: false,
      to: e.detail.lease_id }));
  });
})();
"""


def keys_for(work_type: str, n: int) -> list[str]:
    """The keys a worker types for item n (Enter not included)."""
    if work_type == "text_annotation":
        return [str(1 + n % 3)]
    if work_type == "image_annotation":
        return [f"Shift+{1 + n % 2}"]  # usable / blurry; the predicted box and landmarks are kept
    if work_type == "moderation":
        return ["2", "1"] if n % 5 == 0 else ["1"]  # reject with the first reason, or approve
    return ["c", "1", str(1 + n % 3)]  # the canned reply (all placeholders filled), a disposition


@dataclass
class FlowResult:
    flow: str
    work_type: str
    swaps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)  # ms from a key that changes nothing to the painted frame
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        ready = [s["ready_ms"] / 1000 for s in self.swaps if s["ready_ms"] is not None]
        event = [s["event_ms"] / 1000 for s in self.swaps]
        r, e, i = Latency.of(ready), Latency.of(event), Latency.of([v / 1000 for v in self.idle])
        return {
            "bench": "workspace", "flow": self.flow, "work_type": self.work_type, "n": len(self.swaps),
            "ready": {"p50": r.p50, "p95": r.p95, "p99": r.p99, "max": r.max, "mean": r.mean},
            "event": {"p50": e.p50, "p95": e.p95, "max": e.max},
            "idle_frame": {"n": i.n, "p50": i.p50, "p95": i.p95, "max": i.max},
            "not_prepared": sum(1 for s in self.swaps if self.flow == "stream" and not s["prepared"]),
            "waited_for_media": sum(1 for s in self.swaps if s["media_frames"]),
            "lost": sum(1 for s in self.swaps if s["ready_ms"] is None),
            "errors": len(self.errors), "error_samples": self.errors[:5], "seconds": round(self.seconds, 1),
        }


def login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")


def run_flow(browser: Any, base: str, setup: Setup, flow: str, work_type: str, count: int, think_ms: int,
             progress_every: int) -> FlowResult:
    result = FlowResult(flow, work_type)
    user = "seat-stream" if flow == "stream" else "seat-paged"
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    context.add_init_script(MEASURE_JS % {"mode": json.dumps(flow)})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda e: result.errors.append(f"page error: {e}"))
    page.on("console", lambda m: result.errors.append(f"console: {m.text}") if m.type == "error"
            and "status of" not in m.text else None)  # failed requests are reported below, with their URL
    page.on("response", lambda r: result.errors.append(f"{r.request.method} {r.url}: {r.status}")
            if r.status >= 400 and not (r.status == 404 and r.url.endswith("/api/v1/leases")) else None)
    try:
        login(page, base, user)
        url = f"{base}/work/{setup.projects[work_type]}"
        page.goto(url + ("?n=0" if flow == "paged" else ""))
        page.wait_for_function("() => window.__bench && __bench.items >= 1")
        started = time.monotonic()
        for n in range(count):
            if flow == "stream":
                page.evaluate("__bench.idleArmed = true")
                page.keyboard.press("Shift")  # the idle-frame control (see MEASURE_JS)
            if think_ms:
                page.wait_for_timeout(think_ms)
            for key in keys_for(work_type, n):
                page.keyboard.press(key)
            page.keyboard.press("Enter")
            if flow == "paged":
                page.wait_for_url(f"{url}?n={n + 1}")
            page.wait_for_function("(n) => __bench.swaps.length >= n || __bench.errors.length", arg=1 if flow ==
                                   "paged" else n + 1)
            errors = page.evaluate("__bench.errors")
            if errors:
                result.errors += errors
                break
            result.swaps.append(page.evaluate("__bench.swaps[__bench.swaps.length - 1]"))
            if progress_every and (n + 1) % progress_every == 0:
                last = sorted(s["ready_ms"] for s in result.swaps[-progress_every:] if s["ready_ms"] is not None)
                log(f"  {flow:6} {work_type:16} {n + 1:4}/{count}  last {len(last)}: median "
                    f"{last[len(last) // 2]:.1f} ms, max {last[-1]:.1f} ms (load average {loadavg()})")
        if flow == "stream":
            result.idle = page.evaluate("__bench.idle")
            # every answer reaches the server before the tab closes
            page.wait_for_function("() => Seatflow.workspace.outbox.unsent() === 0", timeout=60_000)
        result.seconds = time.monotonic() - started
    finally:
        context.close()
    return result


# --- the run ------------------------------------------------------------------------------------


def loadavg() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def main(argv: list[str] | None = None) -> int:
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=200, help="items measured per work type and flow (default 200)")
    ap.add_argument("--baseline-items", type=int, default=None, help="items of the page-per-item baseline "
                    "(default: --items)")
    ap.add_argument("--think", type=int, default=300, help="ms the worker spends on an item before its keys "
                    "(default 300)")
    ap.add_argument("--backend", "--db", dest="backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL, help="PostgreSQL admin URL (--backend postgres)")
    ap.add_argument("--types", default=",".join(WORK_TYPES), help="work types to run, comma-separated")
    ap.add_argument("--smoke", action="store_true", help="a few items of each type, quick (CI)")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON document on stdout")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (database, media, server log)")
    args = ap.parse_args(argv)
    if args.json:
        OUT = sys.stderr
    if args.smoke:
        args.items, args.baseline_items, args.think = 4, 3, 30
    baseline_items = args.items if args.baseline_items is None else args.baseline_items
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    bad = [t for t in types if t not in WORK_TYPES]
    if bad or args.items < 1 or baseline_items < 1:
        ap.error(f"--types: unknown {bad}" if bad else "--items and --baseline-items must be at least 1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("playwright is missing: .venv/bin/pip install -e '.[test]'") from None
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")

    info = machine_info(args.pg_url if args.backend == "postgres" else None)
    info["load average at start"] = loadavg()
    log("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    cmd = " ".join(["bench/workspace.py", *(argv if argv is not None else sys.argv[1:])])
    log(f"command: {cmd}   date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    per_type = args.items + baseline_items + 10  # the stream shows items+1 and prepares one more
    t = time.monotonic()
    setup = create_center(args.backend, args.pg_url, per_type)
    log(f"seeded {per_type} items of each work type on {args.backend} in {time.monotonic() - t:.1f} s"
        + ("" if setup.videos else " (no PyAV: moderation without videos)"))
    results: list[FlowResult] = []
    loads: list[str] = []
    try:
        with AppServer(setup.url, setup.tmp) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for wt in types:
                    for flow, count in (("stream", args.items), ("paged", baseline_items)):
                        log(f"== {flow} {wt}: {count} items (load average {loadavg()})")
                        every = 0 if args.smoke else 50
                        r = run_flow(browser, server.base, setup, flow, wt, count, args.think, every)
                        loads.append(loadavg())
                        results.append(r)
                        log("RESULT " + json.dumps(r.summary()))
            finally:
                browser.close()
            server_log = server.log.read_text(errors="replace").splitlines()
            if any("Traceback" in line or "ERROR" in line for line in server_log):
                log("\nthe server logged errors; the end of its log:")
                for line in server_log[-40:]:
                    log("  " + line)
        stored = stored_answers(setup)
    finally:
        if setup.pg_name:
            pg_drop(args.pg_url, setup.pg_name)
        if args.keep:
            log(f"kept {setup.tmp}")
        else:
            shutil.rmtree(setup.tmp, ignore_errors=True)
    info["load average at end"] = loadavg()
    return report(results, stored, info, loads, args, cmd)


def report(results: list[FlowResult], stored: dict[tuple[str, str], int], info: dict[str, str], loads: list[str],
           args: argparse.Namespace, cmd: str) -> int:
    by = {(r.flow, r.work_type): r.summary() for r in results}
    types = sorted({r.work_type for r in results}, key=WORK_TYPES.index)
    f1: Callable[[float], str] = lambda v: f"{v:.1f}"  # noqa: E731
    rows = []
    verdicts: dict[str, bool] = {}
    failures: list[str] = []
    for wt in types:
        s, p = by[("stream", wt)], by[("paged", wt)]
        for flow, r in (("stream", s), ("paged", p)):
            want = r["n"]
            got = stored.get((wt, "seat-stream" if flow == "stream" else "seat-paged"), 0)
            if r["errors"] or r["lost"] or got != want:
                failures.append(f"{flow} {wt}: {r['errors']} errors {r['error_samples']}, {r['lost']} lost, "
                                f"{got} answers stored for {want} items")
        ok = s["ready"]["p95"] <= TARGET_P95_MS
        verdicts[wt] = ok
        rows.append([wt, s["n"], f1(s["ready"]["p50"]), f1(s["ready"]["p95"]), f1(s["ready"]["max"]),
                     f1(s["event"]["p95"]), f1(s["idle_frame"]["p95"]), s["not_prepared"], p["n"],
                     f1(p["ready"]["p50"]), f1(p["ready"]["p95"]), f1(p["ready"]["max"]),
                     f"{p['ready']['p50'] / s['ready']['p50']:.1f}x",
                     f"{p['ready']['p95'] / s['ready']['p95']:.1f}x", "yes" if ok else "NO"])
    log("\n== summary: submit key -> next item ready for input (ms; ready = media and canvas drawn, focus in the "
        "item, next frame painted; event = seatflow:item-ready; idle frame = a key that changes nothing -> the "
        "next painted frame, the machine's floor)")
    log(table(["work type", "n", "stream p50", "p95", "max", "event p95", "idle frame p95", "not prepared", "paged n",
               "paged p50", "p95", "max", "ratio p50", "ratio p95", "p95<=50"], rows))
    log(f"\nload average after each flow: {', '.join(loads)}; machine: nproc {info.get('nproc')}, "
        f"{info.get('cpu')}")
    log("\n== targets")
    for wt in types:
        log(f"  {wt:16} stream p95 {by[('stream', wt)]['ready']['p95']:.1f} ms <= {TARGET_P95_MS:.0f} ms: "
            f"{'met' if verdicts[wt] else 'NOT met'}")
    log(f"  all work types: {'met' if all(verdicts.values()) else 'NOT met'}")
    for line in failures:
        log(f"  FAILED: {line}")
    if args.json:
        print(json.dumps({"machine": info, "command": cmd, "backend": args.backend, "think_ms": args.think,
                          "loads": loads, "results": list(by.values()),
                          "stored": {f"{k[0]}/{k[1]}": v for k, v in stored.items()},
                          "target_p95_ms": TARGET_P95_MS, "met": verdicts, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
