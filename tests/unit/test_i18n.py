"""Both interface languages are complete: every message in the code and templates is translated.

The extraction runs here, in memory, with the same code as ``scripts/i18n_extract``: a new
``_("...")`` without a translation fails this test until the script is run and zh_CN is filled in.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from seatflow.i18n import LOCALES, translations
from seatflow.web.labels import ROLE_NAMES
from seatflow.worktypes import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
# Messages that read the same in Chinese (names and acronyms); anything else must contain Chinese.
SAME_IN_CHINESE = {"API"}

_PERCENT = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]|%[sdifr]")
_BRACES = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _load_extract() -> ModuleType:
    path = ROOT / "scripts" / "i18n_extract"
    loader = SourceFileLoader("seatflow_i18n_extract", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


extract = _load_extract()


@pytest.fixture(scope="module")
def template() -> Catalog:
    catalog: Catalog = extract.extract_template(ROOT)
    return catalog


@pytest.fixture(scope="module", params=LOCALES)
def catalog(request: pytest.FixtureRequest) -> Catalog:
    path = extract.catalog_path(request.param, ROOT)
    assert path.exists(), f"{path} is missing; run scripts/i18n_extract"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=request.param)
    cat.domain = request.param  # our locale name (babel's own name for zh_CN is zh_Hans_CN)
    return cat


def placeholders(text: str) -> Counter[str]:
    """The %(name)s / %s and {name} placeholders of a message, counted."""
    found: Counter[str] = Counter()
    for m in _PERCENT.finditer(text):
        found["%" + (m.group(1) or m.group(0))] += 1
    for m in _BRACES.finditer(text):
        found["{" + m.group(1) + "}"] += 1
    return found


def _strings(message: Message) -> list[str]:
    s = message.string
    return list(s) if isinstance(s, tuple | list) else [s or ""]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def test_the_extraction_finds_the_pages_and_the_cli(template: Catalog) -> None:
    ids = {m.id for m in template if m.id}
    # one message from a template, one from page code, one from the labels: the extractor sees all three
    assert {"Start working", "Wrong username or password. Check both and try again.", "Team lead"} <= ids
    files = {loc[0] for m in template for loc in m.locations}
    assert any(f.endswith(".html") for f in files), files
    assert any(f.startswith("src/seatflow/web/") and f.endswith(".py") for f in files), files


def test_every_message_is_in_the_catalog_and_translated(template: Catalog, catalog: Catalog) -> None:
    missing, empty = [], []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None:
            missing.append(message.id)
        elif not all(s.strip() for s in _strings(entry)):
            empty.append(message.id)
    where = extract.catalog_path(str(catalog.domain), ROOT).relative_to(ROOT)
    assert not missing, f"{where}: not in the catalog (run scripts/i18n_extract): {missing}"
    assert not empty, f"{where}: no translation yet: {empty}"


def test_no_fuzzy_entries(catalog: Catalog) -> None:
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"{catalog.domain}: fuzzy entries are ignored at run time; check and unmark: {fuzzy}"


def test_placeholders_match(catalog: Catalog) -> None:
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = _ids(message)
        if len(ids) == 1:
            for text in _strings(message):
                if text and placeholders(text) != placeholders(ids[0]):
                    wrong.append((message.id, text))
            continue
        # a plural message: a form may use any placeholder of the singular or the plural (the caller fills in
        # both), and must keep those they share (a language with one form, like Chinese, says it once)
        allowed = set(placeholders(ids[0])) | set(placeholders(ids[1]))
        shared = set(placeholders(ids[0])) & set(placeholders(ids[1]))
        for text in _strings(message):
            if text and not shared <= set(placeholders(text)) <= allowed:
                wrong.append((message.id, text))
    assert not wrong, f"{catalog.domain}: placeholders differ between msgid and msgstr: {wrong}"


def _has_words(msgid: str | tuple[str, ...]) -> bool:
    """False for a message made only of placeholders, field names and punctuation, such as
    ``{field}: {message}`` or ``webhook_url: {why}``."""
    text = msgid if isinstance(msgid, str) else msgid[0]
    text = re.sub(r"[\w.\[\]]*_[\w.\[\]]*", "", _BRACES.sub("", _PERCENT.sub("", text)))  # names like a_b.c
    return bool(re.search(r"[A-Za-z]", text))


def test_chinese_is_written_in_chinese() -> None:
    path = extract.catalog_path("zh_CN", ROOT)
    with path.open("rb") as fh:
        zh = read_po(fh, locale="zh_CN")
    english = [m.id for m in zh if m.id and m.string and m.id not in SAME_IN_CHINESE and _has_words(m.id)
               and not all(_CJK.search(s) for s in _strings(m))]
    assert not english, f"zh_CN entries without Chinese (copied English?): {english}"


def test_the_catalogs_load_and_translate() -> None:
    assert translations("zh_CN").gettext("Log in") == "登录"
    assert translations("zh_CN").gettext("Start working") == "开始工作"
    assert translations("en").gettext("Log in") == "Log in"


@pytest.mark.parametrize("locale", LOCALES)
def test_role_and_work_type_names_are_translated(locale: str) -> None:
    t = translations(locale)
    names = [wt.title for wt in REGISTRY.values()] + list(ROLE_NAMES.values())
    path = extract.catalog_path(locale, ROOT)
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    untranslated = [n for n in names if cat.get(n) is None or not cat.get(n).string]
    assert not untranslated, f"{locale}: work type or role names without a translation: {untranslated}"
    if locale == "zh_CN":
        assert t.gettext("Image annotation") == "图像标注"


def test_placeholder_check_sees_a_difference() -> None:
    """The checker itself: a dropped, renamed or added placeholder is a difference."""
    assert placeholders("Hello, %(name)s") == placeholders("%(name)s，你好")
    assert placeholders("Hello, %(name)s") != placeholders("你好")
    assert placeholders("{user} may now {skill}") != placeholders("{user} 现在可以 {skil}")
    assert placeholders("user {name!r}") == placeholders("用户 {name!r}")
    assert placeholders("a {{literal}} brace") == Counter()
