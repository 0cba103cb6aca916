"""The interface texts in Vietnamese and English: one catalogue, one lookup.

The catalogue is a gettext catalogue per language, ``survey/locale/{vi,en}/LC_MESSAGES/messages.po``, managed
with Babel (``make texts`` refreshes it from the sources, see :mod:`survey.i18n_extract`). Its msgids are stable
keys (``survey.thanks.title``), Vietnamese is the language of record, and ``{name}`` placeholders are filled
with :meth:`str.format`.

- Python: ``t("staff.login.blocked", lang, minutes=5)``.
- Templates: ``{{ _("staff.login.blocked", minutes=5) }}`` in the page's ``lang`` (Jinja's i18n extension with
  these callables), or ``{{ t(key, "en") }}`` for a text in another language than the page's.
- A key chosen at run time is written where it is chosen with ``N_("survey.thanks.title")``, so that the
  extraction finds it; templates name codes through macros (``templates/staff/_labels.html``).

A new text: use its key in the code or a template, run ``make texts`` (the key appears in both ``.po`` files
with an empty text), write the Vietnamese and the English text there. ``tests/unit/survey/test_texts.py`` fails
while a key lacks a text, a source uses a key the catalogue lacks, or the catalogue holds a key nothing uses.

>>> t("survey.thanks.title", "vi"), t("survey.thanks.title", "en")
('Xin cảm ơn Ông/Bà!', 'Thank you!')
>>> t("staff.pages.page", "en", page=2)
'Page 2'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from babel.messages.pofile import read_po
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

__all__ = ["CATALOGUE", "CATALOGUE_DIR", "DOMAIN", "RECORD_LANGUAGE", "N_", "catalogue_path", "pick", "read_catalogue",
           "register", "t"]

CATALOGUE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
RECORD_LANGUAGE = "vi"  # the language of record: every key has its Vietnamese text, other languages fall back to it


def catalogue_path(language: str, directory: Path = CATALOGUE_DIR) -> Path:
    """The ``.po`` file of ``language``."""
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(directory: Path = CATALOGUE_DIR) -> Mapping[str, Mapping[str, str]]:
    """Language → key → text, from every ``<language>/LC_MESSAGES/messages.po`` under ``directory``.

    Empty and fuzzy (not yet reviewed) entries are left out: their keys fall back to the language of record.
    """
    catalogue: dict[str, Mapping[str, str]] = {}
    for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):  # catalogue_path's layout
        language = path.parent.parent.name
        with path.open("rb") as po:
            catalog = read_po(po, locale=language, domain=DOMAIN)
        catalogue[language] = MappingProxyType({
            str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
        })
    return MappingProxyType(catalogue)


# Read once at import: the texts are part of the program (like its templates), never changed while it runs.
CATALOGUE = read_catalogue()
_NONE: Mapping[str, str] = MappingProxyType({})


def t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (in Vietnamese when it has none, the key itself when unknown), filled in."""
    text = CATALOGUE.get(lang, _NONE).get(key) or CATALOGUE.get(RECORD_LANGUAGE, _NONE).get(key) or key
    return text.format(**values) if values else text


def N_(key: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction, translate later"
    """``key`` unchanged: marks a key that is looked up later, so that the extraction finds it."""
    return key


def pick(texts: Mapping[str, str] | None, lang: str) -> str:
    """A questionnaire text in ``lang``, falling back to Vietnamese, then to any language."""
    if not texts:
        return ""
    return texts.get(lang) or texts.get("vi") or next(iter(texts.values()), "")


@pass_context
def _page_text(context: Context, key: str, **values: object) -> Markup:
    # escaped here, values too unless they are markup already (a macro's output), so nothing is escaped twice
    text = escape(t(key, str(context.get("lang") or RECORD_LANGUAGE)))
    return text.format(**values) if values else text


def _no_plurals(*_: object, **__: object) -> NoReturn:
    raise NotImplementedError("the catalogue has no plural forms (Vietnamese has none): use one key per form")


def register(env: Any) -> None:
    """Give a Jinja environment the catalogue (``_`` in the page's ``lang``, ``t``, ``N_``) and the ``pick`` filter."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext=_page_text, ngettext=_no_plurals, newstyle=False)
    env.globals["t"] = t
    env.globals["N_"] = N_
    env.filters["pick"] = pick
