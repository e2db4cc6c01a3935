"""The image annotation view in a real browser, without the workspace core.

A static harness (tests/browser/image_harness/) loads the view's scripts the way the workspace page
does, mounts the view on a fake lease of a drawn 640x480 portrait, sends keys to ``view.onKey`` like
the core and exposes ``window.__answer()``. Each test works with the mouse and the keyboard and
compares the answer with what was drawn (coordinates within 1 px of the image point aimed at,
everything else exact). Screenshots go to ``$SEATFLOW_SCREENSHOTS`` (default: ``screenshots/``).
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser._support import ROOT, close, new_page, screenshot_dir, visibilities

pytestmark = pytest.mark.browser

STATIC = ROOT / "src" / "seatflow" / "web" / "static"
HARNESS = Path(__file__).resolve().parent / "image_harness"

NAMES = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
FULL = {
    "labels": [{"name": "face", "key": "f"}, {"name": "person"}, {"name": "car"}],
    "tools": ["bbox", "keypoints", "polygon", "classify"],
    "keypoints": {"names": NAMES, "label": "face"},
    "classes": ["usable", "blurry", "no_face"],
    "attributes": [{"name": "occluded", "type": "bool"},
                   {"name": "pose", "type": "choice", "choices": ["frontal", "profile", "other"]},
                   {"name": "note", "type": "text"}],
}
# where the drawn portrait's landmarks are (image pixels)
LANDMARKS = [(252, 190), (328, 190), (286, 238), (262, 270), (318, 270)]


class _Files(http.server.SimpleHTTPRequestHandler):
    """/static/* from the package, /harness/* from the harness folder; nothing else."""

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        for prefix, folder in (("/static/", STATIC), ("/harness/", HARNESS)):
            if path.startswith(prefix):
                return str(folder / path[len(prefix):])
        return str(HARNESS / "does-not-exist")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, name="harness", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Harness:
    """The page with the view mounted, and the moves a worker makes, in image pixels."""

    def __init__(self, page: Page, errors: list[str]) -> None:
        self.page = page
        self.errors = errors

    def mount(self, schema: dict[str, Any], **cfg: Any) -> None:
        self.page.evaluate("cfg => window.__mount(cfg)", {"schema": schema, **cfg})
        self.page.wait_for_function("() => document.querySelector('.imgv-canvas').width > 1")

    def at(self, x: float, y: float) -> tuple[float, float]:
        p = self.page.evaluate("([x, y]) => window.__toClient(x, y)", [x, y])
        return p["x"], p["y"]

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.at(x, y))

    def drag(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        self.page.mouse.move(*self.at(*a))
        self.page.mouse.down()
        self.page.mouse.move(*self.at(*b), steps=6)
        self.page.mouse.up()

    def key(self, *keys: str) -> None:
        for k in keys:
            self.page.keyboard.press(k)

    def answer(self) -> dict[str, Any]:
        out = self.page.evaluate("() => window.__answer()")
        assert "answer" in out, f"answer() threw: {out.get('error')}"
        return out["answer"]

    def error(self) -> str:
        out = self.page.evaluate("() => window.__answer()")
        assert "error" in out, f"answer() should have thrown, returned {out.get('answer')}"
        return out["error"]

    def ui(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.__ui()")

    def consumed(self) -> list[str]:
        return self.page.evaluate("() => window.__consumed.splice(0)")

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(50)  # one animation frame for the canvas
        self.page.screenshot(path=str(screenshot_dir() / f"{name}.png"))


@pytest.fixture
def harness(browser: Browser, base_url: str) -> Iterator[Harness]:
    ctx, page = new_page(browser, viewport=(1280, 800), timeout_ms=10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base_url + "/harness/index.html")
    h = Harness(page, errors)
    yield h
    ctx.close()
    assert not errors, f"browser console errors: {errors}"


# --- tests --------------------------------------------------------------------------------------


def test_the_harness_loads_the_scripts_as_the_workspace_page_does() -> None:
    """js/canvas/*.js sorted by name, then the view: the modules must not depend on their order."""
    html = (HARNESS / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script src="/static/(js/[^"]+)"', html)
    canvas = sorted(f"js/canvas/{p.name}" for p in (STATIC / "js" / "canvas").glob("*.js"))
    assert scripts == [*canvas, "js/wt/image_annotation.js"]


def test_box_keypoints_polygon_labels_undo_and_attributes_with_mouse_and_keys(harness: Harness) -> None:
    h = harness
    h.mount(FULL)
    assert h.ui()["tool"] == "box" and h.ui()["label"] == "face"
    assert h.error() == "Choose a class for the whole image."
    h.key("Shift+1")

    # a person box: drawn off, then moved and resized with the select tool
    h.key("2")
    h.drag((120, 100), (400, 440))
    h.key("v")
    h.drag((200, 300), (230, 290))  # move by (+30, -10): (150, 90)-(430, 430)
    close(h.answer()["boxes"], [{"label": "person", "x": 150, "y": 90, "w": 280, "h": 340, "attributes": {}}])
    h.drag((430, 430), (440, 470))  # the south-east handle
    close(h.answer()["boxes"], [{"label": "person", "x": 150, "y": 90, "w": 290, "h": 380, "attributes": {}}])

    # back to boxes: "1" picks the label of the next box and leaves the person box alone
    h.key("b", "1")
    h.drag((195, 80), (385, 315))
    # a face box goes straight on to its landmarks, prompted in order
    assert h.ui()["tool"] == "keypoints"
    prompt = h.page.locator(".imgv-prompt")
    expect(prompt).to_contain_text("Click: left_eye")
    expect(prompt).to_contain_text("1/5")
    for i, (x, y) in enumerate(LANDMARKS):
        expect(prompt).to_contain_text(f"Click: {NAMES[i]}")
        h.click(x, y)
        if i == 2:
            h.shot("image-view-keypoints-prompt")
    h.key("o")  # the last one placed (mouth_right) is occluded
    assert h.ui()["tool"] == "box", "after the fifth landmark the view goes back to boxes"

    # a polygon with the "person" label, closed by a click on its first corner, then relabelled "car"
    h.key("p", "2")
    corners = [(470, 230), (590, 230), (590, 390), (470, 390)]
    for x, y in corners:
        h.click(x, y)
    h.click(530, 300)  # one too many: Backspace takes it back
    assert h.ui()["draft"] == 5
    h.key("Backspace")
    assert h.ui()["draft"] == 4
    h.shot("image-view-polygon-drawing")
    h.click(*corners[0])
    assert h.ui()["draft"] is None
    assert [p["label"] for p in h.answer()["polygons"]] == ["person"]
    h.key("v")
    h.click(530, 330)
    h.key("3")
    assert [p["label"] for p in h.answer()["polygons"]] == ["car"]

    # undo / redo
    h.key("Control+z")
    assert [p["label"] for p in h.answer()["polygons"]] == ["person"]
    h.key("Control+z")
    assert h.answer()["polygons"] == []
    h.key("Control+Shift+z")
    assert [p["label"] for p in h.answer()["polygons"]] == ["person"]
    h.key("Control+y")
    assert [p["label"] for p in h.answer()["polygons"]] == ["car"]
    h.drag((590, 390), (600, 400))  # a corner of the selected polygon
    corners[2] = (600, 400)

    # the class by key, the face box's attributes in the side panel
    h.key("Shift+2")
    h.click(215, 110)  # inside the face box, away from its landmarks
    assert h.ui()["sel"]["kind"] == "box"
    h.page.get_by_label("occluded").check()
    h.page.get_by_label("pose").select_option("frontal")
    h.page.get_by_label("note").fill("glasses")
    h.page.get_by_label("note").press("Tab")
    h.shot("image-view-annotated")

    answer = h.answer()
    close(answer, {
        "boxes": [
            {"label": "person", "x": 150, "y": 90, "w": 290, "h": 380, "attributes": {}},
            {"label": "face", "x": 195, "y": 80, "w": 190, "h": 235,
             "attributes": {"occluded": True, "pose": "frontal", "note": "glasses"}},
        ],
        "keypoints": [{"label": "face", "points": [[x, y, v] for (x, y), v in zip(LANDMARKS, [2, 2, 2, 2, 1],
                                                                                 strict=True)]}],
        "polygons": [{"label": "car", "points": [list(c) for c in corners]}],
        "class": "blurry",
    })
    assert visibilities(answer) == [[2, 2, 2, 2, 1]]
    assert h.page.evaluate("() => window.__changes") > 10

    # keys of the core are never taken
    h.consumed()
    h.key("Enter", "?", "i", "Escape")
    assert h.consumed() == []


def test_keypoints_skip_take_back_and_an_incomplete_set_is_named(harness: Harness) -> None:
    h = harness
    h.mount({"tools": ["keypoints"], "keypoints": {"names": NAMES}})
    assert h.ui()["tool"] == "keypoints"
    h.click(*LANDMARKS[0])
    h.click(*LANDMARKS[1])
    error = h.error()
    assert "nose, mouth_left, mouth_right" in error and "set 1" in error, error

    h.key("x")  # no nose in the image
    expect(h.page.locator(".imgv-prompt")).to_contain_text("Click: mouth_left")
    h.click(*LANDMARKS[3])
    h.click(*LANDMARKS[4])
    answer = h.answer()
    assert answer["keypoints"][0]["points"][2] == [0, 0, 0]
    assert "label" not in answer["keypoints"][0], "no keypoints label in the schema, none in the answer"

    # a drag moves a landmark; Delete takes one back and the prompt asks for it again
    h.drag(LANDMARKS[0], (240, 185))
    h.click(*LANDMARKS[1])  # selects right_eye (it is there already)
    h.key("Delete")
    assert "right_eye" in h.error()
    expect(h.page.locator(".imgv-prompt")).to_contain_text("Click: right_eye")
    h.click(330, 195)
    answer = h.answer()
    close(answer, {"boxes": [], "polygons": [], "class": None,
                   "keypoints": [{"points": [[240, 185, 2], [330, 195, 2], [0, 0, 0],
                                             [*LANDMARKS[3], 2], [*LANDMARKS[4], 2]]}]})
    # the next click starts a second set
    h.click(100, 100)
    assert "set 2" in h.error()
    h.key("Control+z")
    assert len(h.answer()["keypoints"]) == 1
    # a set left incomplete (its last landmark undone, then another tool) is continued first
    h.key("Control+z")
    assert "place or skip right_eye." in h.error()
    h.key("v", "k")
    expect(h.page.locator(".imgv-prompt")).to_contain_text("Click: right_eye")
    h.key("Control+y")
    expect(h.page.locator(".imgv-prompt")).to_contain_text("Click: left_eye")
    assert len(h.answer()["keypoints"]) == 1


def test_predictions_are_marked_until_touched_and_review_is_read_only_until_fix(harness: Harness) -> None:
    h = harness
    predictions = {
        "boxes": [{"label": "face", "x": 200, "y": 85, "w": 180, "h": 225, "attributes": {}}],
        "keypoints": [{"label": "face", "points": [[250, 192, 2], [330, 188, 2], [288, 236, 2],
                                                   [0, 0, 0], [318, 268, 1]]}],
        "polygons": [],
        "class": "usable",
    }
    h.mount(FULL, mode="annotate", predictions=predictions)
    assert h.answer() == predictions, "untouched predictions are the answer as they are"
    objects = h.page.locator(".imgv-objects li")
    expect(objects).to_have_count(2)
    expect(objects.filter(has_text="predicted")).to_have_count(2)
    h.shot("image-view-predictions")

    # a click selects without touching; a move is a correction
    h.key("v")
    h.click(215, 110)
    expect(objects.filter(has_text="predicted")).to_have_count(2)
    h.drag((215, 110), (210, 100))
    expect(objects.filter(has_text="predicted")).to_have_count(1)
    close(h.answer()["boxes"], [{"label": "face", "x": 195, "y": 75, "w": 180, "h": 225, "attributes": {}}])
    # a new set starts with the first name; the skipped landmark of the prediction is asked for again
    # from the side panel, then placed
    h.key("k")
    prompt = h.page.locator(".imgv-prompt")
    expect(prompt).to_contain_text("Click: left_eye")
    h.click(288, 236)  # the predicted nose: selected, not moved
    points = h.page.locator(".imgv-point")
    expect(points).to_have_count(5)
    expect(points.nth(3)).to_contain_text("mouth_left")
    expect(points.nth(3)).to_contain_text("skipped")
    expect(objects.filter(has_text="predicted")).to_have_count(1)
    points.nth(3).click()
    expect(prompt).to_contain_text("Click: mouth_left")
    expect(objects.filter(has_text="predicted")).to_have_count(0)
    h.click(262, 270)
    close(h.answer()["keypoints"], [{"label": "face", "points": [[250, 192, 2], [330, 188, 2], [288, 236, 2],
                                                                 [262, 270, 2], [318, 268, 1]]}])
    expect(prompt).to_contain_text("Click: left_eye")
    h.shot("image-view-predictions-corrected")

    # review: read only; drags and edit keys do nothing, until "fix in place"
    review = {**predictions, "class": "blurry"}
    h.mount({**FULL, "labels": [{"name": "face", "key": "f"}, {"name": "person", "key": "r"}, {"name": "car"}]},
            mode="review", initial=review, readonly=True)
    assert h.ui()["readonly"] is True
    h.drag((215, 110), (300, 300))
    assert h.ui()["sel"]["kind"] == "box", "a click selects (to show the attributes), nothing moves"
    expect(h.page.get_by_label("occluded")).to_be_disabled()
    h.consumed()
    h.key("Delete", "1", "b", "a", "r", "f", "Control+z")
    assert h.consumed() == [], "a read-only view takes no editing key, and never a/r/f in review"
    assert h.answer() == review
    expect(h.page.locator(".imgv-tool").first).to_be_disabled()
    h.shot("image-view-review")
    h.page.evaluate("() => window.__view.setReadonly(false)")
    h.click(215, 110)
    h.key("Delete")
    assert h.answer()["boxes"] == []
    h.consumed()
    h.key("r")
    assert h.consumed() == [], "the label key r is the core's reject key in review"


def test_zoom_pan_and_shapes_stay_inside_the_image(harness: Harness) -> None:
    h = harness
    h.mount({**FULL, "tools": ["bbox", "keypoints", "polygon"]})
    fit = h.ui()["zoom"]
    h.key("+", "+")
    assert h.ui()["zoom"] == pytest.approx(fit * 1.5625, abs=1)
    # wheel zoom keeps the image point under the pointer where it is
    before = h.at(300, 200)
    h.page.mouse.move(*before)
    h.page.mouse.wheel(0, -300)
    h.page.wait_for_function(f"() => window.__ui().zoom > {fit * 1.6}")
    after = h.at(300, 200)
    assert h.ui()["zoom"] > fit * 1.6
    assert abs(after[0] - before[0]) < 1 and abs(after[1] - before[1]) < 1
    # space + drag and the arrow keys pan
    h.page.keyboard.down(" ")
    h.page.mouse.down()
    h.page.mouse.move(before[0] + 100, before[1] + 40, steps=4)
    h.page.mouse.up()
    h.page.keyboard.up(" ")
    moved = h.at(300, 200)
    assert abs(moved[0] - before[0] - 100) < 1 and abs(moved[1] - before[1] - 40) < 1
    h.key("ArrowLeft")
    assert abs(h.at(300, 200)[0] - moved[0] - 80) < 1
    assert h.answer()["boxes"] == [], "panning draws nothing"
    # drawn while zoomed in: still in image pixels
    h.drag((260, 170), (320, 230))
    close(h.answer()["boxes"], [{"label": "face", "x": 260, "y": 170, "w": 60, "h": 60, "attributes": {}}])
    h.key("0")
    assert h.ui()["zoom"] == fit
    # dragged past the edges: clamped to the 640x480 image
    h.key("b", "2")
    corner = h.at(640, 480)
    h.page.mouse.move(*h.at(560, 400))
    h.page.mouse.down()
    h.page.mouse.move(corner[0] + 30, corner[1] + 12, steps=4)
    h.page.mouse.up()
    close(h.answer()["boxes"][1], {"label": "person", "x": 560, "y": 400, "w": 80, "h": 80, "attributes": {}})
    h.key("v")
    h.drag((600, 440), (700, 560))  # moved against the corner: stays inside
    box = h.answer()["boxes"][1]
    assert box["x"] + box["w"] <= 640 and box["y"] + box["h"] <= 480
    close(box, {"label": "person", "x": 560, "y": 400, "w": 80, "h": 80, "attributes": {}})


def test_classify_only_number_keys_choose_the_class(harness: Harness) -> None:
    h = harness
    h.mount({"tools": ["classify"], "classes": ["usable", "blurry", "no_face"]})
    assert h.error() == "Choose a class for the whole image."
    h.key("3")
    assert h.answer() == {"boxes": [], "keypoints": [], "polygons": [], "class": "no_face"}
    expect(h.page.get_by_label("no_face")).to_be_checked()
    h.page.get_by_label("usable").check()
    assert h.answer()["class"] == "usable"
    h.key("Control+z")
    assert h.answer()["class"] == "no_face"
    keys = h.page.evaluate("() => window.__view.keys.map(k => k.key)")
    assert "1–3" in keys and not {"Enter", "?", "I", "Escape"} & set(keys)


def zh_catalog() -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = ROOT / "src" / "seatflow" / "i18n" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: m.string for m in catalog
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string}


def test_in_chinese_every_word_of_the_view_is_translated(harness: Harness) -> None:
    h = harness
    h.page.set_viewport_size({"width": 1366, "height": 768})
    h.mount(FULL, catalog=zh_catalog(), lang="zh-CN")
    expect(h.page.locator(".imgv-prompt")).to_have_text("拖动鼠标画face框")
    h.drag((195, 80), (385, 315))
    expect(h.page.locator(".imgv-prompt")).to_contain_text("请点击：left_eye")
    for x, y in LANDMARKS[:3]:
        h.click(x, y)
    h.key("x")
    h.click(*LANDMARKS[4])
    h.key("o")
    assert h.error() == "请为整张图片选择类别。"
    h.key("Shift+1", "v")
    h.click(215, 110)
    h.shot("image-view-zh")
    texts = " ".join(h.page.locator(".imgv").all_inner_texts())
    for word in ("选择", "画框", "标签", "图片类别", "选中项", "标注对象", "框 face，190 × 235 像素", "关键点 5/5"):
        assert word in texts, f"{word!r} missing from the view: {texts}"
    # English words of the view's own (schema names like face/left_eye/usable stay as the project wrote them)
    for english in ("Select", "Labels", "Objects", "Nothing selected", "keypoints", "predicted"):
        assert english not in texts, f"{english!r} is not translated: {texts}"
    keys = h.page.evaluate("() => window.__view.keys.map(k => k.help)")
    assert "撤销" in keys and not [k for k in keys if k.isascii()], keys


def test_the_side_panel_works_by_keyboard(harness: Harness) -> None:
    h = harness
    h.mount({"labels": [{"name": "face"}], "tools": ["bbox", "classify"], "classes": ["usable", "blurry"],
             "attributes": [{"name": "occluded", "type": "bool"}]})
    h.drag((195, 80), (385, 315))
    h.key("v")
    h.click(290, 200)
    # Tab from the image into the panel: the label button, the class radios, the attribute checkbox
    radio = h.page.get_by_label("usable")
    radio.focus()
    h.consumed()
    h.key("Space")
    assert h.answer()["class"] == "usable"
    h.key("ArrowDown")  # the radio group moves on; the image does not pan
    assert h.answer()["class"] == "blurry"
    assert h.consumed() == []
    h.page.keyboard.press("Tab")
    expect(h.page.get_by_label("occluded")).to_be_focused()
    h.key("Space")
    assert h.answer()["boxes"][0]["attributes"] == {"occluded": True}
    assert h.consumed() == []


def test_the_answer_is_rounded_clamped_and_round_trips(harness: Harness) -> None:
    """model.js directly: what any drawing turns into, and an answer read back unchanged."""
    h = harness
    h.mount(FULL)
    out = h.page.evaluate("""schema => {
        const M = Seatflow.canvas.model, t = Seatflow.t;
        const doc = M.emptyDoc();
        doc.boxes.push({id: 1, label: "face", x: -3.04, y: 10.06, w: 700, h: 20.02,
                        attributes: {pose: "", occluded: false}});
        doc.kpsets.push({id: 2, label: "face", points: [{x: 641, y: -2, v: 2}, {x: 0, y: 0, v: 0},
            {x: 10.55, y: 20.44, v: 1}, {x: 1, y: 1, v: 2}, {x: 2, y: 2, v: 2}]});
        doc.polygons.push({id: 3, label: "car", points: [[0, 0], [650, 0], [650, 490]]});
        doc.cls = "usable";
        return M.toAnswer(doc, schema, 640, 480, t);
    }""", FULL)
    assert out == {
        "boxes": [{"label": "face", "x": 0, "y": 10.1, "w": 640, "h": 20, "attributes": {"occluded": False}}],
        "keypoints": [{"label": "face", "points": [[640, 0, 2], [0, 0, 0], [10.6, 20.4, 1], [1, 1, 2], [2, 2, 2]]}],
        "polygons": [{"label": "car", "points": [[0, 0], [640, 0], [640, 480]]}],
        "class": "usable",
    }
    answer = {
        "boxes": [{"label": "person", "x": 1.5, "y": 2, "w": 30, "h": 40.5, "attributes": {"pose": "profile"}}],
        "keypoints": [{"label": "face", "points": [[5, 6, 2], [0, 0, 0], [7, 8, 1], [9, 10, 2], [11, 12, 2]]}],
        "polygons": [{"label": "car", "points": [[1, 1], [5, 1], [5, 5]]}],
        "class": "no_face",
    }
    back = h.page.evaluate("""([schema, answer]) => {
        const M = Seatflow.canvas.model;
        return M.toAnswer(M.fromAnswer(answer, schema, true), schema, 640, 480, Seatflow.t);
    }""", [FULL, answer])
    assert back == answer
