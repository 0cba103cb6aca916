"""The text catalogue: every key in Vietnamese and English, in step with the sources, one lookup for code and pages."""

from __future__ import annotations

import doctest
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import DictLoader, Environment, select_autoescape

import survey.i18n as i18n
from survey.i18n import CATALOGUE, N_, catalogue_path, read_catalogue, register, t
from survey.i18n_extract import LANGUAGES, extract, problems, refresh

SOURCE_TEXTS = [  # texts the pages show, as written before the catalogue existed
    ("survey.thanks.title", "vi", {}, "Xin cảm ơn Ông/Bà!"),
    ("survey.limited.body", "en", {"minutes": 3},
     "Too many wrong links were opened from this device. Please try again in 3 minutes."),
    ("staff.login.failed", "vi", {}, "Sai tên đăng nhập hoặc mật khẩu."),
    ("staff.pages.page", "en", {"page": 2}, "Page 2"),
    ("staff.pages.next", "vi", {}, "Trang sau"),
    ("survey.next", "vi", {}, "Tiếp tục"),
    ("staff.kiosks.revoked_notice", "vi", {"label": "Quầy 1"}, "Đã thu hồi máy Quầy 1."),
    ("staff.scores.interval", "vi", {"low": "80,1", "high": "85,0"}, "KTC 95%: 80,1–85,0"),
    ("common.organisation", "en", {}, "Vietnam Social Security"),
]


def read(language: str) -> list[tuple[str, object, bool]]:
    with catalogue_path(language).open("rb") as po:
        return [(str(m.id), m.string, m.fuzzy) for m in read_po(po, locale=language) if m.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_has_a_reviewed_text_in_each_language(language):
    entries = read(language)
    assert entries, f"{catalogue_path(language)} is empty"
    assert [key for key, text, _ in entries if not isinstance(text, str) or not text.strip()] == []
    assert [key for key, _, fuzzy in entries if fuzzy] == []


def test_both_languages_have_the_same_keys():
    assert {key for key, _, _ in read("vi")} == {key for key, _, _ in read("en")}


def test_every_text_the_sources_use_is_in_the_catalogue_and_the_catalogue_holds_nothing_else():
    used = set(extract())
    assert used, "the extraction found no texts at all"
    assert sorted(used - set(CATALOGUE["vi"])) == []
    assert sorted(set(CATALOGUE["vi"]) - used) == []


def test_the_catalogue_is_up_to_date_with_the_sources():
    # what `make texts` / `python -m survey.i18n_extract --check` reports: keys, texts, placeholders, computed keys
    assert [str(problem) for problem in problems()] == []


def test_vietnamese_texts_keep_their_diacritics_in_one_normal_form():
    # a text pasted in decomposed form (e + combining marks) looks the same but compares and counts differently
    assert [key for key, text in CATALOGUE["vi"].items() if not unicodedata.is_normalized("NFC", text)] == []
    accented = [key for key, text in CATALOGUE["vi"].items() if any(ord(ch) > 127 for ch in text)]
    assert len(accented) > len(CATALOGUE["vi"]) / 2  # not an unaccented copy


@pytest.mark.parametrize(("key", "language", "values", "expected"), SOURCE_TEXTS)
def test_a_key_reads_as_the_page_showed_it(key, language, values, expected):
    assert t(key, language, **values) == expected


def test_a_language_without_the_text_falls_back_to_vietnamese_and_an_unknown_key_shows_itself(tmp_path):
    for language, text in (("vi", "Xin chào"), ("en", "")):
        po = catalogue_path(language, tmp_path)
        po.parent.mkdir(parents=True)
        po.write_text(f'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                      f'msgid "demo.hello"\nmsgstr "{text}"\n', encoding="utf-8")
    catalogue = read_catalogue(tmp_path)
    assert dict(catalogue["vi"]) == {"demo.hello": "Xin chào"} and dict(catalogue["en"]) == {}
    assert t("no.such.key", "en") == "no.such.key"
    assert t("survey.thanks.title", "fr") == "Xin cảm ơn Ông/Bà!"  # a language without a catalogue


def test_templates_read_the_page_language_and_escape_what_they_fill_in():
    env = Environment(loader=DictLoader({
        "macros.html": '{% macro title() %}{{ _("survey.thanks.title") }}{% endmacro %}',
        "page.html": '{% import "macros.html" as m with context %}<h1>{{ m.title() }}</h1>'
                     '<p>{{ _("staff.scores.error", detail=detail) }}</p><p>{{ t("survey.thanks.title", "en") }}</p>',
    }), autoescape=select_autoescape(["html"]))
    register(env)
    page = env.get_template("page.html")
    assert page.render(lang="vi", detail="a < b") == (
        "<h1>Xin cảm ơn Ông/Bà!</h1><p>Không xem được kết quả: a &lt; b</p><p>Thank you!</p>")
    assert page.render(lang="en", detail="x").startswith("<h1>Thank you!</h1><p>The scores cannot be shown: x</p>")


def test_a_key_chosen_at_run_time_is_marked_and_looked_up_later():
    key = N_("survey.used.title")
    assert key == "survey.used.title" and t(key, "en") == "This survey has already been answered"


def make_project(root: Path, python: str, template: str) -> None:
    (root / "survey").mkdir()
    (root / "survey" / "pages.py").write_text(python, encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "page.html").write_text(template, encoding="utf-8")


def test_a_refresh_adds_new_keys_without_a_text_and_drops_keys_no_source_uses(tmp_path):
    make_project(tmp_path, 'from survey.i18n import t\n\n\ndef title(lang):\n    return t("demo.title", lang)\n',
                 '<p>{{ _("demo.body", name=name) }}</p>')
    for language in LANGUAGES:
        po = catalogue_path(language, tmp_path / "survey" / "locale")
        po.parent.mkdir(parents=True)
        po.write_text('msgid "demo.title"\nmsgstr "Tiêu đề"\n\nmsgid "demo.gone"\nmsgstr "Cũ"\n', encoding="utf-8")

    missing = refresh(tmp_path)

    assert missing == {"vi": ["demo.body"], "en": ["demo.body"]}
    vi = read_catalogue(tmp_path / "survey" / "locale")["vi"]
    assert dict(vi) == {"demo.title": "Tiêu đề"}  # kept; demo.gone dropped; demo.body waits for its text
    assert "demo.gone" not in (tmp_path / "survey/locale/vi/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert "'demo.body' has no vi text" in [problem.message for problem in problems(tmp_path)]
    assert refresh(tmp_path) == missing  # a second refresh changes nothing


def test_keys_the_extraction_cannot_see_are_reported_with_their_place(tmp_path):
    make_project(tmp_path, "", '<p>{{ _("demo." ~ kind) }}</p>\n<p>{{ _("Thank you") }}</p>\n{% set _ = 1 %}\n'
                               '<p>Xin cảm ơn</p><a lang="vi">Tiếng Việt</a>')
    reported = [str(problem) for problem in problems(tmp_path)]
    assert "templates/page.html:1: _() of a computed key: name the key, or mark it with N_()" in reported
    assert "templates/page.html:2: 'Thank you' is not a key like 'survey.thanks.title'" in reported
    assert "templates/page.html:3: _ is the catalogue's lookup: give the variable another name" in reported
    assert [line for line in reported if "written into" in line] == [
        "templates/page.html:3: Vietnamese written into the template ('cảm'): give it a key"]


def test_the_examples_in_the_docstrings_hold():
    result = doctest.testmod(i18n)
    assert result.attempted > 0 and result.failed == 0
