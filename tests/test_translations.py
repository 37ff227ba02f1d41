"""Every string a person or the privacy team reads exists in Danish.

Two checks: the page templates put their visible text inside translate tags (the email and letter
templates are written once per language instead), and every string marked for translation in the code
and the templates has a Danish translation in dsr/locale/da, none of them fuzzy. The second runs
makemessages on a copy of the project, so the catalogue in the repository is not touched.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = BASE_DIR / "templates"
# Written once per language (templates/dsr/emails/<kind>/body.da.html ...), so not translated by tags.
PER_LANGUAGE = re.compile(r"^dsr/(emails|letters)/|\.(da|en)\.(html|txt)$")
# Visible text that is the same in every language: names, abbreviations, separators.
SAME_IN_EVERY_LANGUAGE = {"CVR", "SHA-256", "dsr", "· dsr", "dsr ·", "Authorization: Bearer", "&rsaquo;"}
# Attributes a reader sees or hears; meta tags' content is for browsers and robots.
READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')
WORD = re.compile(r"[A-Za-zÆØÅæøå]{2,}")


def _visible(template_text: str) -> str:
    """Return the template's own text, with every tag, variable and translated part replaced by §."""
    parts, hidden = [], 0
    for token in Lexer(template_text).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            if name in ("blocktranslate", "blocktrans", "comment"):
                hidden += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                hidden -= 1
            parts.append("§")
        elif token.token_type == TokenType.VAR:
            parts.append("§")
        elif token.token_type == TokenType.TEXT and not hidden:
            parts.append(token.contents)
    return "".join(parts)


def untranslated_text(template_text: str) -> list[str]:
    """Return the pieces of visible text a template writes outside translate tags."""
    text = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", _visible(template_text), flags=re.S)
    found = [value for value in READ_ATTRIBUTES.findall(text) if WORD.search(value.replace("§", ""))]
    # Class lists are not text (the admin's body classes sit in a block of their own, without quotes).
    text = re.sub(r'class="[^"]*"', "", text)
    for line in re.sub(r"<[^>]*>", "\n", text).splitlines():
        line = line.replace("§", " ").strip()
        if WORD.search(line) and line not in SAME_IN_EVERY_LANGUAGE and not line.startswith("app-dsr model-"):
            found.append(line)
    return found


def test_the_checker_finds_text_outside_translate_tags():
    template = '{% load i18n %}<h1>{% translate "Queue" %}</h1><p>Days left: {{ n }}</p><a title="Open it">x</a>'

    assert untranslated_text(template) == ["Open it", "Days left:"]


@pytest.mark.parametrize(
    "path",
    [path for path in sorted(TEMPLATES.rglob("*.html")) if not PER_LANGUAGE.search(str(path.relative_to(TEMPLATES)))],
    ids=lambda path: str(path.relative_to(TEMPLATES)),
)
def test_page_templates_translate_all_their_text(path):
    assert untranslated_text(path.read_text()) == []


def _untranslated(po_text: str) -> tuple[list[str], list[str]]:
    """Return (msgids without a Danish text, fuzzy msgids) of a .po file."""
    missing, fuzzy = [], []
    for entry in po_text.split("\n\n")[1:]:
        msgid = "".join(re.findall(r'^(?:msgid|msgid_plural)? ?"(.*)"$', entry.split("msgstr")[0], re.M))
        if not msgid or entry.lstrip().startswith("#~"):
            continue
        if "#, fuzzy" in entry or ", fuzzy" in entry.split("\n", 1)[0]:
            fuzzy.append(msgid)
        translations = re.findall(r'^msgstr(?:\[\d+\])? "(.*)"((?:\n".*")*)', entry, re.M)
        if any(not (first + "".join(re.findall(r'"(.*)"', rest))) for first, rest in translations):
            missing.append(msgid)
    return missing, fuzzy


def test_every_marked_string_has_a_danish_translation(tmp_path):
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "*.mo")
    for name in ("dsr", "templates", "config"):
        shutil.copytree(BASE_DIR / name, copy / name, ignore=ignore)
    shutil.copy(BASE_DIR / "manage.py", copy / "manage.py")
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "da", "--no-obsolete", "--no-location", "-v", "0"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    missing, fuzzy = _untranslated((copy / "dsr/locale/da/LC_MESSAGES/django.po").read_text())

    assert missing == [], f"{len(missing)} string(s) without Danish in dsr/locale/da: {missing[:20]}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy Danish translation(s): {fuzzy[:20]}"


def test_every_record_kind_has_a_danish_name():
    from django.apps import apps
    from django.utils import translation

    same = []
    for model in apps.get_app_config("dsr").get_models():
        with translation.override("en"):
            english = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        with translation.override("da"):
            danish = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        if english == danish:
            same.append(model.__name__)

    assert same == []


# Words a Danish privacy team writes the same way.
SAME_WORD = {"id", "status", "hash", "note", "plan", "reference", "SHA-256", "URL"}


def test_every_field_the_admin_shows_has_a_danish_label():
    from django.apps import apps
    from django.utils import translation

    same = []
    for model in apps.get_app_config("dsr").get_models():
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or field.auto_created:
                continue
            with translation.override("en"):
                english = str(field.verbose_name)
            with translation.override("da"):
                danish = str(field.verbose_name)
            if english == danish and english not in SAME_WORD:
                same.append(f"{model.__name__}.{field.name}")

    assert same == []
