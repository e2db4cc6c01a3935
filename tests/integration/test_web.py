"""The pages: login (both languages), home per role, /work, language switch, logout, static files.

Pages are parsed with the standard library's html.parser (see ``Page``), never matched as raw text
alone, and run against the seeded center of tests/integration/conftest.py on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import Response
from tests.integration.conftest import ITEMS, PASSWORD, PROJECTS, USERS, Center

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self) -> Any:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'} {attrs}> in the page"
        return found[0]

    def by_id(self, ident: str) -> Node:
        return self.find(id=ident)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag not in ("script", "style"):
            self.stack[-1].children.append(data)


class Page:
    """A parsed HTML response."""

    def __init__(self, resp: Response) -> None:
        self.resp = resp
        builder = _Builder()
        builder.feed(resp.text)
        builder.close()
        self.root = builder.root
        self.html = self.root.find("html")

    @property
    def lang(self) -> str:
        return self.html.attrs.get("lang", "")

    def text(self) -> str:
        return self.root.find("body").text()

    def alert(self) -> str:
        return self.root.find(role="alert").text()

    def header(self) -> Node:
        return self.root.find("header")


def page(resp: Response, status: int = 200) -> Page:
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers["content-type"] == "text/html; charset=utf-8", resp.headers["content-type"]
    p = Page(resp)
    assert p.root.find("meta", charset="utf-8")
    return p


def login(center: Center, username: str, *, lang: str | None = None, password: str = PASSWORD,
          next_path: str | None = None) -> Response:
    center.client.cookies.clear()
    data = {"username": username, "password": password}
    if lang:
        data["lang"] = lang
    if next_path:
        data["next"] = next_path
    return center.client.post("/login", data=data, follow_redirects=False)


def home_as(center: Center, username: str, *, locale: str = "en") -> Page:
    resp = login(center, username)
    assert resp.status_code == 303 and resp.headers["location"] == "/", resp.text
    if locale != "en":
        switch = center.client.post("/settings/language", data={"locale": locale, "next": "/"},
                                    follow_redirects=False)
        assert switch.status_code == 303
    return page(center.client.get("/"))


def status_rows(p: Page) -> dict[str, list[str]]:
    """The status table as {project slug: [cell texts...]}."""
    table = p.root.by_id("status")
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Node) and c.tag in ("th", "td")]
        rows[tr.attrs["data-project"]] = [c.text() for c in cells]
    return rows


# --- login --------------------------------------------------------------------------------------


def test_login_page_in_english_and_chinese(center: Center) -> None:
    en = page(center.client.get("/login?lang=en"))
    assert en.lang == "en"
    assert en.root.find("title").text().startswith("Log in")
    form = en.root.find("form", action="/login")
    assert {i.attrs.get("name") for i in form.find_all("input")} >= {"username", "password"}
    assert form.find("input", name="password").attrs["type"] == "password"
    assert "Username" in form.text() and "Password" in form.text()
    assert center.client.cookies.get("seatflow_lang") == "en"

    zh = page(center.client.get("/login?lang=zh_CN"))
    assert zh.lang == "zh-CN"
    assert "登录" in zh.root.find("title").text()
    assert "用户名" in zh.text() and "密码" in zh.text() and "服务外包中心交付平台" in zh.text()
    # the other language is one click away, and the choice is remembered without ?lang=
    assert zh.root.find("a", hreflang="en").attrs["href"] == "/login?lang=en"
    assert page(center.client.get("/login")).lang == "zh-CN"


def test_login_page_follows_the_browser_language_without_a_choice(center: Center) -> None:
    center.client.cookies.clear()
    assert page(center.client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})).lang == "en"
    assert page(center.client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})).lang == "zh-CN"
    assert page(center.client.get("/login", headers={"Accept-Language": "fr;q=1, en;q=0.5"})).lang == "en"
    # nothing usable: the server's default_locale (zh_CN)
    assert page(center.client.get("/login", headers={"Accept-Language": "fr"})).lang == "zh-CN"


@pytest.mark.parametrize(("lang", "message"), [
    ("en", "Wrong username or password. Check both and try again."),
    ("zh_CN", "用户名或密码错误，请检查后重试。"),
])
def test_wrong_password_is_401_with_a_translated_message(center: Center, lang: str, message: str) -> None:
    resp = login(center, "ann1", password="not-the-password", lang=lang)
    p = page(resp, 401)
    assert p.alert() == message
    assert p.root.find("input", name="username").attrs["value"] == "ann1"  # kept, so only the password is retyped
    assert "not-the-password" not in resp.text
    assert center.client.get("/", follow_redirects=False).headers["location"] == "/login"  # no session


def test_unknown_user_reads_like_a_wrong_password(center: Center) -> None:
    p = page(login(center, "nobody", lang="en"), 401)
    assert p.alert().startswith("Wrong username or password")


def test_empty_fields_say_what_is_missing(center: Center) -> None:
    center.client.cookies.clear()
    resp = center.client.post("/login", data={"username": "ann1", "password": "", "lang": "zh_CN"})
    assert page(resp, 422).alert() == "请输入用户名和密码。"


def test_unauthenticated_pages_redirect_to_login(center: Center) -> None:
    center.client.cookies.clear()
    resp = center.client.get("/", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    resp = center.client.get("/work?project=1", follow_redirects=False)
    assert resp.status_code == 303
    target = urlsplit(resp.headers["location"])
    assert target.path == "/login" and parse_qs(target.query) == {"next": ["/work?project=1"]}


def test_login_returns_to_the_page_asked_for_but_never_off_site(center: Center) -> None:
    pid = center.seed.projects["acme-faces"]
    resp = login(center, "ann1", next_path=f"/work?project={pid}")
    assert resp.headers["location"] == f"/work?project={pid}"
    for evil in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"):
        resp = login(center, "ann1", next_path=evil)
        assert resp.status_code == 303 and resp.headers["location"] == "/", evil


def test_a_logged_in_visit_to_login_goes_home(center: Center) -> None:
    login(center, "ann1")
    resp = center.client.get("/login", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"


def test_logout_ends_the_session(center: Center) -> None:
    home_as(center, "manager")
    resp = center.client.post("/logout", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    assert center.client.get("/", follow_redirects=False).headers["location"] == "/login"


# --- home per role ------------------------------------------------------------------------------


def _project_cards(p: Page) -> dict[str, Node]:
    return {li.attrs["data-project"]: li for li in p.root.by_id("projects").find_all("li")}


def test_worker_home_lists_their_projects_and_a_start_button(center: Center) -> None:
    p = home_as(center, "ann1")
    cards = _project_cards(p)
    assert set(cards) == set(PROJECTS)  # ann1 annotates on every project
    start = p.root.by_id("start-working")
    first = min(center.seed.projects.values())  # the first active project, in the order of the cards
    assert start.attrs["href"] == f"/work/{first}" and start.text() == "Start working"
    faces = cards["acme-faces"]
    assert "Image annotation" in faces.text()
    assert faces.find("a").attrs["href"] == f"/work/{center.seed.projects['acme-faces']}"
    assert p.root.by_id("answers-today").text() == "0"


def test_worker_sees_only_projects_they_are_qualified_for(center: Center) -> None:
    """rev1 reviews acme-faces only: no other project, and nothing of the other client, is shown."""
    p = home_as(center, "rev1")
    assert set(_project_cards(p)) == {"acme-faces"}
    for other in ("globex-tickets", "acme-text", "acme-mod"):
        assert other not in p.resp.text
    assert "Globex" not in p.text() and "globex" not in p.resp.text


def test_worker_without_qualification_is_told_what_to_do(center: Center) -> None:
    p = home_as(center, "idle", locale="zh_CN")
    assert "你还没有任何项目的作业资格。" in p.text() and "组长" in p.text()
    assert not p.root.find_all(id="start-working")  # no button that leads nowhere


def test_worker_count_of_answers_today(center: Center) -> None:
    for _ in range(2):
        lease = center.lease("ann1", "acme-text")
        assert center.submit("ann1", lease["lease_id"],
                             {"classes": ["positive"], "spans": []}).status_code == 200
    p = home_as(center, "ann1")
    assert p.root.by_id("answers-today").text() == "2"
    assert p.root.by_id("reviews-today").text() == "0"
    assert home_as(center, "ann2").root.by_id("answers-today").text() == "0"  # only one's own work


@pytest.mark.parametrize("username", ["admin", "manager", "lead"])
def test_staff_home_is_the_status_table(center: Center, username: str) -> None:
    lease = center.lease("ann1", "acme-faces")
    assert lease["project"]["slug"] == "acme-faces"
    p = home_as(center, username)
    rows = status_rows(p)
    assert set(rows) == set(PROJECTS)
    heads = [th.text() for th in p.root.by_id("status").find("thead").find_all("th")]
    assert heads == ["Project", "Client", "Work type", "Backlog", "In progress", "Done", "SLA at risk", "Overdue"]
    n = len(ITEMS["acme-faces"])
    faces = rows["acme-faces"]
    assert faces[1] == "acme" and faces[2] == "Image annotation"
    assert faces[3:6] == [str(n - 1), "1", f"0 / {n}"]
    tickets = rows["globex-tickets"]
    assert tickets[3:6] == [str(len(ITEMS["globex-tickets"])), "0", f"0 / {len(ITEMS['globex-tickets'])}"]


def test_staff_home_in_chinese(center: Center) -> None:
    p = home_as(center, "manager", locale="zh_CN")
    assert p.lang == "zh-CN"
    heads = [th.text() for th in p.root.by_id("status").find("thead").find_all("th")]
    assert heads == ["项目", "客户", "工作类型", "积压", "进行中", "已完成", "SLA 风险", "已逾期"]
    assert "图像标注" in status_rows(p)["acme-faces"][2]


def test_client_home_shows_only_its_own_projects_with_progress(center: Center) -> None:
    p = home_as(center, "acme-ops")
    cards = _project_cards(p)
    assert set(cards) == {slug for slug, spec in PROJECTS.items() if spec["client"] == "acme"}
    assert "globex" not in p.resp.text.lower()
    faces = cards["acme-faces"]
    bar = faces.find(role="progressbar")
    assert bar.attrs["aria-valuenow"] == "0"
    assert f"0 of {len(ITEMS['acme-faces'])} items done" in faces.text()
    assert not p.root.find_all(id="status")  # no center-wide table for clients
    assert not p.root.find_all("a", href="/work")  # clients don't take tasks

    other = home_as(center, "globex-ops")
    assert set(_project_cards(other)) == {"globex-tickets"}


def test_client_progress_moves_when_items_are_done(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    assert center.submit("ann1", lease["lease_id"], {"decision": "approve"}).status_code == 200
    faces = _project_cards(home_as(center, "acme-ops"))["acme-mod"]
    n = len(ITEMS["acme-mod"])
    assert f"1 of {n} items done" in faces.text()
    assert faces.find(role="progressbar").attrs["aria-valuenow"] == str(round(100 / n))


@pytest.mark.parametrize("username", ["ann1", "manager", "acme-ops"])
def test_every_page_has_the_header_with_user_role_language_and_logout(center: Center, username: str) -> None:
    home_as(center, username)
    role = USERS[username][0]
    urls = ["/", "/work"] if role != "client" else ["/"]
    for url in urls:
        p = page(center.client.get(url))
        header = p.header()
        assert username in header.text()
        assert header.find(class_=f"role-badge role-{role}")
        switch = header.find("form", action="/settings/language")
        assert {b.attrs["value"] for b in switch.find_all("button")} == {"zh_CN", "en"}
        assert header.find("form", action="/logout")


# --- language -----------------------------------------------------------------------------------


def test_switching_language_is_stored_on_the_user(center: Center) -> None:
    p = home_as(center, "ann1")
    assert p.lang == "en"
    resp = center.client.post("/settings/language", data={"locale": "zh_CN", "next": "/work"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/work"
    assert center.row("users", username="ann1").locale == "zh_CN"
    zh = page(center.client.get("/"))
    assert zh.lang == "zh-CN" and zh.root.by_id("start-working").text() == "开始工作"
    # the setting follows the user to a new session (another browser)
    center.client.cookies.clear()
    assert home_as(center, "ann1").lang == "zh-CN"


def test_an_unknown_language_is_refused_with_a_page(center: Center) -> None:
    home_as(center, "ann1")
    p = page(center.client.post("/settings/language", data={"locale": "fr", "next": "/"}), 422)
    assert "Unknown language" in p.text()
    assert p.root.by_id("back-home").attrs["href"] == "/"
    assert center.row("users", username="ann1").locale == "en"


def test_the_language_switch_never_redirects_off_site(center: Center) -> None:
    home_as(center, "ann1")
    resp = center.client.post("/settings/language", data={"locale": "en", "next": "//evil.example/"},
                              follow_redirects=False)
    assert resp.headers["location"] == "/"


def test_chinese_pages_have_no_english_interface_text(center: Center) -> None:
    """Every interface string on the main pages is translated (data such as names stays as it is)."""
    english = ["Log in", "Log out", "Start working", "Your projects", "Answers today", "Backlog", "Home",
               "Project status", "Work type", "Worker", "Client", "Back to home", "The workspace"]
    pages = [home_as(center, "ann1", locale="zh_CN"), page(center.client.get("/work")),
             home_as(center, "manager", locale="zh_CN"), home_as(center, "acme-ops", locale="zh_CN")]
    center.client.cookies.clear()
    pages.append(page(center.client.get("/login?lang=zh_CN")))
    for p in pages:
        text = p.text()
        leaked = [e for e in english if e in text]
        assert not leaked, f"{p.resp.url}: English left in the Chinese page: {leaked}"


# --- /work --------------------------------------------------------------------------------------


def test_work_leads_to_the_workspace_of_the_project(center: Center) -> None:
    home_as(center, "ann1")
    pid = center.seed.projects["acme-faces"]
    resp = center.client.get(f"/work?project={pid}", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == f"/work/{pid}"
    resp = center.client.get("/work", follow_redirects=False)  # no project named: the first active one
    assert resp.status_code == 303 and resp.headers["location"] == f"/work/{min(center.seed.projects.values())}"
    assert center.count("leases") == 0  # the pages take no task (the workspace script does)


def test_work_without_an_open_project_says_so_and_leads_back(center: Center) -> None:
    home_as(center, "idle")
    p = page(center.client.get("/work"))
    assert "No project is open to you for work right now." in p.text()
    assert p.root.by_id("back-home").attrs["href"] == "/"


def test_work_page_hides_projects_the_worker_may_not_see(center: Center) -> None:
    home_as(center, "rev1")
    for ref in (str(center.seed.projects["globex-tickets"]), "999999", "abc"):
        p = page(center.client.get(f"/work?project={ref}"), 404)
        assert "Project not found" in p.text()
        assert p.root.by_id("back-home").attrs["href"] == "/"
        assert "globex" not in p.resp.text


def test_clients_do_not_take_tasks(center: Center) -> None:
    home_as(center, "acme-ops")
    p = page(center.client.get("/work"), 403)
    assert p.root.by_id("back-home").attrs["href"] == "/"


# --- static files -------------------------------------------------------------------------------


def test_the_stylesheet_is_served_by_the_app(center: Center) -> None:
    resp = center.client.get("/static/seatflow.css")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/css")
    assert '"Noto Sans CJK SC"' in resp.text and '"Microsoft YaHei"' in resp.text
    assert "@import" not in resp.text and "url(http" not in resp.text  # nothing from outside
    assert center.client.get("/static/favicon.svg").status_code == 200
    assert center.client.get("/static/nope.css").status_code == 404


def test_pages_load_nothing_from_outside(center: Center) -> None:
    """Intranets have no internet: every stylesheet, script and image comes from the app."""
    for p in (home_as(center, "ann1"), home_as(center, "manager"), page(center.client.get("/login"))):
        for node in p.root.iter():
            for attr in ("src", "href"):
                value = node.attrs.get(attr, "")
                if node.tag in ("link", "script", "img") and value:
                    assert value.startswith("/"), f"{node.tag} {attr}={value!r} is not served by the app"
                    if node.tag == "link" and node.attrs.get("rel") == "stylesheet":
                        assert center.client.get(value).status_code == 200
