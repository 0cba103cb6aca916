"""The upkeep of the text catalogue: which keys the sources use, and its refresh (``make texts``).

Babel's extractors read ``survey/**.py`` (calls of ``t``, ``N_``, ``_``, ``gettext``) and ``templates/**.html``
(``_()``, ``t()``); :func:`refresh` adds the keys that are new to every ``.po`` file with an empty text, to be
written in, and drops the keys no source uses any more. The files are sorted by key and carry no source line
numbers, so that they change only when a text does.

    python -m survey.i18n_extract          # refresh survey/locale/*/LC_MESSAGES/messages.po
    python -m survey.i18n_extract --check  # exit 1 and say why when the catalogue is not up to date
"""

from __future__ import annotations

import argparse
import re
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment, nodes

from survey.i18n import CATALOGUE_DIR, DOMAIN, RECORD_LANGUAGE, catalogue_path
from survey.settings import PROJECT_ROOT

__all__ = ["KEY_PATTERN", "KEYWORDS", "LANGUAGES", "CatalogueProblem", "extract", "problems", "refresh"]

LANGUAGES = ("vi", "en")
KEYWORDS = {"t": None, "N_": None, "_": None, "gettext": None}
# survey.thanks.title, staff.scores.questionnaires.post-call
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+")
# a word with a letter only Vietnamese writes (đ, ơ, ư, ă and the tone marks); the language names of the
# language switch are written in their own language on every page, so they are no texts of the catalogue
VIETNAMESE_WORD = re.compile(r"\w*[đĐơƠưƯăĂạ-ỹẠ-Ỹàáâãèéêìíòóôõùúýầấẩẫậ]\w*")
ENDONYMS = re.compile(r"Tiếng Việt")
SOURCES = (  # (directory under the project, Babel's method map)
    ("survey", [("**.py", "python")]),
    ("templates", [("**.html", "jinja2")]),
)
JINJA_OPTIONS = {"silent": "false"}  # a template Jinja cannot parse is an error, not a file without texts
HEADER = """Interface texts of the survey system: {language}. Vietnamese is the language of record.
Msgids are stable keys (survey.thanks.title); {{name}} placeholders are filled by the code.
Refreshed from the sources by `make texts`; write the text of each new key in every language."""
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)  # fixed header dates: a refresh changes the files only when texts do


@dataclass(frozen=True)
class CatalogueProblem:
    """Something that keeps the catalogue from matching its sources, with where it is."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def extract(root: Path = PROJECT_ROOT) -> dict[str, list[str]]:
    """Every key the sources use → where (``path:line``), as ``pybabel extract`` finds them."""
    found: dict[str, list[str]] = {}
    for directory, method_map in SOURCES:
        options = {pattern: JINJA_OPTIONS for pattern, method in method_map if method == "jinja2"}
        for filename, line, message, _, _ in extract_from_dir(root / directory, method_map, options,
                                                            keywords=KEYWORDS, strip_comment_tags=True):
            if isinstance(message, str) and message:
                found.setdefault(message, []).append(f"{directory}/{filename}:{line}")
    return found


def _po(language: str, root: Path) -> Path:
    return catalogue_path(language, root / CATALOGUE_DIR.relative_to(PROJECT_ROOT))


def _catalog(language: str, root: Path) -> Catalog:
    path = _po(language, root)
    if not path.is_file():
        return Catalog(locale=language, domain=DOMAIN, creation_date=EPOCH, revision_date=EPOCH)
    with path.open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def _write(catalog: Catalog, language: str, root: Path) -> None:
    catalog.project, catalog.version = "survey", "1"
    catalog.header_comment = "\n".join(f"# {line}".rstrip() for line in HEADER.format(language=language).splitlines())
    catalog.creation_date = catalog.revision_date = EPOCH
    catalog.last_translator = catalog.language_team = ""
    catalog.msgid_bugs_address = ""
    catalog.fuzzy = False
    path = _po(language, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True,
                 include_previous=False)


def refresh(root: Path = PROJECT_ROOT) -> dict[str, list[str]]:
    """Bring every language's ``.po`` in line with the sources; language → the keys still without a text."""
    used = extract(root)
    template = Catalog(domain=DOMAIN, creation_date=EPOCH)
    for key in used:
        template.add(key)
    untranslated: dict[str, list[str]] = {}
    for language in LANGUAGES:
        catalog = _catalog(language, root)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        _write(catalog, language, root)
        untranslated[language] = sorted(str(m.id) for m in catalog if m.id and not m.string)
    return untranslated


def _template_problems(root: Path) -> Iterator[CatalogueProblem]:
    """In templates: ``_()`` / ``t()`` calls of a computed key (the extraction cannot see them), variables that
    hide the lookup, and Vietnamese written as plain text instead of a key."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # parsed only, never rendered
    for path in sorted((root / "templates").rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for name in tree.find_all(nodes.Name):
            if name.ctx == "store" and name.name in KEYWORDS:
                yield CatalogueProblem(f"{path.relative_to(root)}:{name.lineno}",
                                       f"{name.name} is the catalogue's lookup: give the variable another name")
        for call in tree.find_all(nodes.Call):
            named = isinstance(call.node, nodes.Name) and call.node.name in KEYWORDS
            literal = bool(call.args) and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)
            if named and not literal:
                yield CatalogueProblem(f"{path.relative_to(root)}:{call.lineno}",
                                       f"{call.node.name}() of a computed key: name the key, or mark it with N_()")
        for data in tree.find_all(nodes.TemplateData):
            words = VIETNAMESE_WORD.findall(ENDONYMS.sub("", data.data))
            if words:
                yield CatalogueProblem(f"{path.relative_to(root)}:{data.lineno}",
                                       f"Vietnamese written into the template ({words[0]!r}): give it a key")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(root: Path = PROJECT_ROOT) -> list[CatalogueProblem]:
    """Why the catalogue does not match the sources (nothing when it does): what ``--check`` reports."""
    found: list[CatalogueProblem] = list(_template_problems(root))
    used = extract(root)
    catalogs = {language: _catalog(language, root) for language in LANGUAGES}
    for key, places in sorted(used.items()):
        if not KEY_PATTERN.fullmatch(key):
            found.append(CatalogueProblem(places[0], f"{key!r} is not a key like 'survey.thanks.title'"))
    for language, catalog in catalogs.items():
        where = str(_po(language, root).relative_to(root))
        keys = {str(m.id) for m in catalog if m.id}
        for key in sorted(set(used) - keys):
            found.append(CatalogueProblem(used[key][0], f"{key!r} is not in the {language} catalogue (make texts)"))
        for key in sorted(keys - set(used)):
            found.append(CatalogueProblem(where, f"{key!r} is used by no source (make texts drops it)"))
        for message in catalog:
            if not message.id:
                continue
            if not isinstance(message.string, str) or not message.string.strip():
                found.append(CatalogueProblem(where, f"{message.id!r} has no {language} text"))
            elif message.fuzzy:
                found.append(CatalogueProblem(where, f"{message.id!r} is marked fuzzy: review its {language} text"))
    record = {str(m.id): str(m.string) for m in catalogs[RECORD_LANGUAGE] if m.id}
    for language, catalog in catalogs.items():
        for message in catalog:
            key = str(message.id)
            translated = message.id and isinstance(message.string, str) and message.string and key in record
            if translated and _placeholders(str(message.string)) != _placeholders(record[key]):
                found.append(CatalogueProblem(str(_po(language, root).relative_to(root)),
                                              f"{key!r} has other placeholders than in {RECORD_LANGUAGE}"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m survey.i18n_extract", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the catalogue is stale")
    args = parser.parse_args(argv)
    if not args.check:
        for language, keys in refresh().items():
            for key in keys:
                print(f"{_po(language, PROJECT_ROOT).relative_to(PROJECT_ROOT)}: {key!r} needs its {language} text")
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
