"""The workspace page (/work/{project}), its JS message catalog (/i18n/{locale}.json) and its scripts.

Who may open the page (a qualified worker; not an unqualified one, not a client, not staff without
a qualification), what the page hands the scripts (project, schema, settings as JSON), which view
script each work type loads, and that every message of the scripts is in both catalogs. What the
scripts do is tested in a real browser (tests/browser/test_workspace_browser.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import update
from tests.integration.conftest import PROJECTS, Center
from tests.integration.test_web import Page, home_as, login, page

from seatflow.store import tables

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "src" / "seatflow" / "web" / "static" / "js"
T_CALL = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]""")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, not an address the browser fetches


def js_code(path: Path) -> str:
    """A script without its block comments (which may show examples of t() calls)."""
    return BLOCK_COMMENT.sub("", path.read_text(encoding="utf-8"))


def config_of(p: Page) -> dict:
    script = p.root.find("script", id="ws-config")
    assert script.attrs.get("type") == "application/json"
    raw = re.search(r'<script type="application/json" id="ws-config">(.*?)</script>', p.resp.text, re.S)
    assert raw, "the config script is missing"
    data: dict = json.loads(raw.group(1))
    return data


def script_srcs(p: Page) -> list[str]:
    return [s.attrs["src"] for s in p.root.find_all("script") if "src" in s.attrs]


def js_messages() -> set[str]:
    """Every t("...") message in the scripts, read straight from the files (not through babel)."""
    found: set[str] = set()
    for path in JS_DIR.rglob("*.js"):
        for m in T_CALL.finditer(js_code(path)):
            found.add(json.loads(f'"{m.group(1)}"'))
    return found


# --- who may open it ----------------------------------------------------------------------------


def test_a_qualified_worker_gets_the_workspace(center: Center) -> None:
    home_as(center, "ann1")
    pid = center.seed.projects["acme-mod"]
    p = page(center.client.get(f"/work/{pid}"))
    assert p.lang == "en"
    assert p.root.find("h1").text() == "acme-mod"
    assert p.root.by_id("ws").attrs["data-work-type"] == "moderation"
    cfg = config_of(p)
    assert cfg["project"]["id"] == pid and cfg["project"]["work_type"] == "moderation"
    assert cfg["project"]["label_schema"] == center.row("projects", id=pid).label_schema
    assert cfg["user"] == {"id": center.seed.users["ann1"], "username": "ann1"}
    assert cfg["skills"] == ["annotate"]
    assert 3 <= cfg["heartbeat_seconds"] <= 60
    srcs = [s.split("?")[0] for s in script_srcs(p)]
    assert srcs == ["/static/js/i18n.js", "/static/js/ui.js", "/static/js/outbox.js", "/static/js/workspace.js",
                    "/static/js/wt/moderation.js"]
    i18n = p.root.find("script", src=script_srcs(p)[0])
    assert i18n.attrs["data-catalog"] == "/i18n/en.json"
    css = [link.attrs["href"].split("?")[0] for link in p.root.find_all("link", rel="stylesheet")]
    assert "/static/workspace.css" in css
    # the shell: keys, instructions, review bar, reject dialog, no-work state with a way back
    assert "Keyboard shortcuts" in p.root.by_id("ws-help").text()
    assert p.root.by_id("ws-instructions").find("h2").text() == "Instructions"
    assert [b.attrs["id"] for b in p.root.by_id("ws-actions-review").find_all("button")] == [
        "ws-accept", "ws-reject", "ws-fix"]
    assert p.root.by_id("ws-reject-dialog").tag == "dialog"
    assert p.root.by_id("ws-home").attrs["href"] == "/"
    assert center.count("leases") == 0  # the page takes no task; the script does


def test_the_project_can_be_named_by_its_slug(center: Center) -> None:
    home_as(center, "ann1")
    p = page(center.client.get("/work/acme-text"))
    assert config_of(p)["project"]["id"] == center.seed.projects["acme-text"]


@pytest.mark.parametrize("slug", list(PROJECTS))
def test_each_work_type_loads_its_view(center: Center, slug: str) -> None:
    home_as(center, "ann1")
    p = page(center.client.get(f"/work/{slug}"))
    work_type = PROJECTS[slug]["work_type"]
    srcs = [s.split("?")[0] for s in script_srcs(p)]
    assert srcs[:4] == ["/static/js/i18n.js", "/static/js/ui.js", "/static/js/outbox.js", "/static/js/workspace.js"]
    assert srcs[-1] == f"/static/js/wt/{work_type}.js"
    others = {"image_annotation", "text_annotation", "moderation", "service_ticket"} - {work_type}
    assert not [s for s in srcs if any(o in s for o in others)], srcs  # only this type's view
    for src in script_srcs(p):
        resp = center.client.get(src)
        assert resp.status_code == 200, src
        assert "javascript" in resp.headers["content-type"], (src, resp.headers["content-type"])


def test_the_page_is_in_the_workers_language(center: Center) -> None:
    home_as(center, "ann1", locale="zh_CN")
    p = page(center.client.get("/work/acme-mod"))
    assert p.lang == "zh-CN"
    assert p.root.find("script", src=script_srcs(p)[0]).attrs["data-catalog"] == "/i18n/zh_CN.json"
    assert p.root.by_id("ws-help-title").text() == "键盘快捷键"
    assert p.root.by_id("ws-submit").text().startswith("提交")


def test_instructions_cannot_break_out_of_the_page(center: Center) -> None:
    evil = 'Mark faces. </script><script>alert("x")</script> & <b>bold</b>'
    with center.db.write() as conn:
        conn.execute(update(tables.projects).where(tables.projects.c.slug == "acme-text").values(instructions=evil))
    home_as(center, "ann1")
    p = page(center.client.get("/work/acme-text"))
    assert config_of(p)["project"]["instructions"] == evil
    shown = p.root.by_id("ws-instructions").find("div", class_="instructions ws-instructions-text")
    assert shown.text() == re.sub(r"\s+", " ", evil)
    assert "<script>alert" not in p.resp.text


def test_unqualified_workers_get_a_404_page_that_names_nothing(center: Center) -> None:
    for user, slug in [("rev1", "acme-mod"), ("idle", "acme-text"), ("ann1", "nope"), ("ann1", "999999")]:
        home_as(center, user)
        p = page(center.client.get(f"/work/{slug}"), 404)
        assert p.root.find("h1").text() == "Project not found"
        assert p.root.by_id("back-home").attrs["href"] == "/"
        assert "acme-" not in p.root.find("main").text()
        assert "ws-config" not in p.resp.text
    assert center.count("leases") == 0


def test_the_404_page_is_translated(center: Center) -> None:
    home_as(center, "idle", locale="zh_CN")
    p = page(center.client.get("/work/acme-text"), 404)
    assert p.root.find("h1").text() == "未找到项目"
    assert p.root.by_id("back-home").text() == "← 返回首页"


def test_clients_get_a_403_page(center: Center) -> None:
    home_as(center, "acme-ops")
    p = page(center.client.get(f"/work/{center.seed.projects['acme-mod']}"), 403)
    assert "do not take tasks" in p.text()
    assert p.root.by_id("back-home").attrs["href"] == "/"


def test_staff_without_a_qualification_get_a_403_page(center: Center) -> None:
    home_as(center, "manager")
    p = page(center.client.get("/work/acme-mod"), 403)
    assert p.root.find("h1").text() == "Not qualified for this project"
    assert "Ask a team lead" in p.text()


def test_a_paused_project_says_so(center: Center) -> None:
    with center.db.write() as conn:
        conn.execute(update(tables.projects).where(tables.projects.c.slug == "acme-mod").values(status="paused"))
    home_as(center, "ann1")
    p = page(center.client.get("/work/acme-mod"), 409)
    assert p.root.find("h1").text() == "Project paused"
    assert p.root.by_id("back-home").attrs["href"] == "/"


def test_without_a_session_the_page_leads_to_login_and_back(center: Center) -> None:
    center.client.cookies.clear()
    resp = center.client.get("/work/acme-mod", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=%2Fwork%2Facme-mod"
    resp = login(center, "ann1", next_path="/work/acme-mod")
    assert resp.headers["location"] == "/work/acme-mod"


# --- the scripts' message catalog ---------------------------------------------------------------


def test_the_js_catalog_has_every_message_of_the_scripts(center: Center) -> None:
    wanted = js_messages()
    assert {"Approve", "All saved", "Choose a class"} <= wanted  # the regex sees the files
    en = center.client.get("/i18n/en.json")
    assert en.status_code == 200 and en.headers["content-type"].startswith("application/json")
    en_messages = en.json()["messages"]
    assert set(en_messages) >= wanted, sorted(wanted - set(en_messages))
    assert all(en_messages[m] == m for m in wanted)
    zh = center.client.get("/i18n/zh_CN.json").json()
    assert zh["locale"] == "zh_CN"
    assert set(zh["messages"]) >= wanted, sorted(wanted - set(zh["messages"]))
    assert zh["messages"]["Approve"] == "通过"
    assert zh["messages"]["All saved"] == "已全部保存"
    untranslated = [m for m in wanted if zh["messages"][m] == m]
    assert not untranslated, untranslated


def test_the_js_catalog_holds_only_the_scripts_messages(center: Center) -> None:
    messages = center.client.get("/i18n/en.json").json()["messages"]
    assert "Wrong username or password. Check both and try again." not in messages  # a page message


def test_the_js_catalog_revalidates_with_an_etag(center: Center) -> None:
    first = center.client.get("/i18n/zh_CN.json")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = center.client.get("/i18n/zh_CN.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert center.client.get("/i18n/en.json").headers["etag"] != etag


def test_an_unknown_language_is_a_404_problem(center: Center) -> None:
    body = center.problem(center.client.get("/i18n/fr.json"), 404, field="locale")
    assert "zh_CN" in body["detail"] and "en" in body["detail"]


# --- the scripts themselves ---------------------------------------------------------------------


def test_the_scripts_load_nothing_from_outside() -> None:
    for path in [*JS_DIR.rglob("*.js"), JS_DIR.parent / "workspace.css"]:
        text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
        assert not re.search(r"https?://", text), f"{path.relative_to(ROOT)} refers to another site"
        assert "import(" not in text and "@import" not in text, path


def test_the_scripts_call_t_with_literals_only() -> None:
    """babel extracts t("...") literals; t(variable) or t(`template`) would never be translated."""
    offenders = []
    for path in JS_DIR.rglob("*.js"):
        for n, line in enumerate(js_code(path).splitlines(), 1):
            for m in re.finditer(r"(?<![\w.])t\((?!\")([^)]*)", line):
                if not m.group(1).startswith(("msgid", "message")):  # the definitions of t itself
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders



def test_the_home_page_leads_into_the_workspace(center: Center) -> None:
    p = home_as(center, "ann1")
    pid = center.seed.projects["acme-faces"]
    card = next(c for c in p.root.by_id("projects").find_all("li") if c.attrs.get("data-project") == "acme-faces")
    assert card.find("a").attrs["href"] == f"/work/{pid}"
    target = page(center.client.get(card.find("a").attrs["href"]))
    assert config_of(target)["project"]["id"] == pid
