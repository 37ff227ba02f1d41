"""Message templates a privacy admin overrides in admin, and the rules an override must keep.

The files under templates/dsr/emails/<kind>/ are the defaults. A MessageTemplate row
replaces one part (subject, text body or HTML body) of one kind in one language; deleting
it returns to the file. Overrides compile in their own template engine, which can load only
the tag libraries the file templates use, cannot use `{% debug %}`, and can include or extend
only templates under dsr/emails/; and before one is saved it must render against a sample
context for its kind that offers exactly the variables the message has when it is sent.
See docs/decisions/0011-message-templates.md.
"""

import contextlib
import functools
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.base import FilterExpression, Node, NodeList, Origin, Template, Variable, VariableDoesNotExist
from django.template.defaulttags import FilterNode, TemplateLiteral
from django.template.library import Library
from django.template.loader import render_to_string
from django.template.loaders.base import Loader
from django.template.smartif import TokenBase
from django.template.utils import get_app_template_dirs
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.message_samples import sample_context
from dsr.models import AuditAction, Language, MessageTemplate, MessageTemplatePart

EMAILS_DIR = "dsr/emails/"
# Where each part of a message lives in its kind's folder.
PART_FILES = {
    MessageTemplatePart.SUBJECT: "subject.{language}.txt",
    MessageTemplatePart.TEXT: "body.{language}.txt",
    MessageTemplatePart.HTML: "body.{language}.html",
}
# The tag libraries the file templates load; an override may load these and no others,
# because a library's tags and filters run Python with the whole context and can query anything.
ALLOWED_LIBRARIES = {"i18n": "django.templatetags.i18n", "dsr_format": "dsr.templatetags.dsr_format"}
# Built-in tags an override may not use: {% debug %} prints the whole context and Python's modules.
FORBIDDEN_TAGS = frozenset({"debug"})


class TemplateInvalid(ValueError):
    """An override that does not compile, names what it may not, or does not render; nothing was saved."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TemplateConflict(ValueError):
    """The template changed since the form was drawn (a colleague saved it, or the form was sent twice)."""


# --- The file templates ------------------------------------------------------------


def template_file_name(kind: str, language: str, part: str) -> str:
    """Return the file template's name, e.g. dsr/emails/receipt/subject.da.txt."""
    return f"{EMAILS_DIR}{kind}/{PART_FILES[part].format(language=language)}"


def _email_dirs() -> list[Path]:
    engine = engines["django"].engine
    directories = [*engine.dirs, *(get_app_template_dirs("templates") if engine.app_dirs else ())]
    return [Path(directory) / EMAILS_DIR for directory in directories]


def template_slots() -> list[tuple[str, str, str]]:
    """Return every (kind, language, part) that has a file template, in a stable order."""
    slots = set()
    for emails in _email_dirs():
        if not emails.is_dir():
            continue
        for folder in emails.iterdir():
            for language in Language.values:
                for part in MessageTemplatePart.values:
                    if (folder / PART_FILES[part].format(language=language)).is_file():
                        slots.add((folder.name, language, part))
    parts = MessageTemplatePart.values
    return sorted(slots, key=lambda slot: (slot[0], slot[1], parts.index(slot[2])))


def template_slot_exists(kind: str, language: str, part: str) -> bool:
    """Return whether this kind, language and part has a file template (only those can be overridden)."""
    return (kind, language, part) in template_slots()


def template_file_text(kind: str, language: str, part: str) -> str:
    """Return the file template's source, the starting point of an override."""
    return engines["django"].engine.get_template(template_file_name(kind, language, part)).source


# --- The engine overrides compile in ------------------------------------------------


class EmailTemplatesLoader(Loader):
    """Find templates under dsr/emails/ in the project's template folders, and nothing else."""

    def get_template_sources(self, template_name: str) -> Iterator[Origin]:
        # normpath: "dsr/emails/../staff/x.html" must not pass as being under dsr/emails/.
        if posixpath.normpath(template_name) != template_name or not template_name.startswith(EMAILS_DIR):
            return
        for loader in engines["django"].engine.template_loaders:
            yield from loader.get_template_sources(template_name)

    def get_contents(self, origin: Origin) -> str:
        return origin.loader.get_contents(origin)


@functools.cache
def override_engine() -> Engine:
    """Return the engine overrides compile and render in (see the module docstring for what it refuses)."""
    engine = Engine(
        debug=True,  # errors carry the line they happened on
        loaders=["dsr.message_templates.EmailTemplatesLoader"],
        libraries=ALLOWED_LIBRARIES,
        autoescape=True,
    )
    builtins = []
    for library in engine.template_builtins:
        restricted = Library()
        restricted.tags = {name: tag for name, tag in library.tags.items() if name not in FORBIDDEN_TAGS}
        restricted.filters = dict(library.filters)
        builtins.append(restricted)
    engine.template_builtins = builtins
    return engine


def _compile(body: str) -> Template:
    try:
        return override_engine().from_string(body)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid([_problem_with_line(exc)]) from None


def _problem_with_line(exc: Exception) -> str:
    debug = getattr(exc, "template_debug", None)
    if debug and debug.get("name") in (None, "", "<unknown source>"):
        return _("Line %(line)d: %(problem)s") % {"line": debug["line"], "problem": exc}
    return str(exc)


# --- Rendering at send time -----------------------------------------------------------


def message_parts_render(*, kind: str, language: str, context: dict) -> tuple[str, str, str]:
    """Render a message's subject, text and HTML, each from its override if one exists, else from its file.

    This runs when the message is sent, so a message queued before an override changed renders with
    the override as it is at sending.
    """
    overrides = dict(MessageTemplate.objects.filter(kind=kind, language=language).values_list("part", "body"))
    rendered = []
    for part in (MessageTemplatePart.SUBJECT, MessageTemplatePart.TEXT, MessageTemplatePart.HTML):
        if part in overrides:
            rendered.append(override_engine().from_string(overrides[part]).render(Context(context, autoescape=True)))
        else:
            rendered.append(render_to_string(template_file_name(kind, language, part), context))
    return rendered[0], rendered[1], rendered[2]


# --- The sample context an override is checked against -------------------------------


class _Sample:
    """A sample value whose attributes are the only ones a template may look up; others are recorded."""

    def __init__(self, path: str, misses: list[str], values: dict) -> None:
        self.__dict__.update(values)
        self.__dict__["_path"] = path
        self.__dict__["_misses"] = misses

    def __getattr__(self, name: str):
        if not name.startswith("_"):
            self._misses.append(f"{self._path}.{name}")
        raise AttributeError(name)

    def __str__(self) -> str:
        return self.__dict__.get("reference") or self.__dict__.get("name") or self._path


def _strict(value, path: str, misses: list[str]):
    if isinstance(value, dict):
        return _Sample(path, misses, {key: _strict(item, f"{path}.{key}", misses) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return type(value)(_strict(item, path, misses) for item in value)
    return value


class _RecordingContext(Context):
    """A context that records the names a template asks for and does not get."""

    misses: list[str]

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            self.misses.append(key)
            raise


def _recording_context(kind: str, language: str) -> _RecordingContext:
    misses: list[str] = []
    values = {name: _strict(value, name, misses) for name, value in sample_context(kind, language).items()}
    context = _RecordingContext(values, autoescape=True)
    context.misses = misses
    return context


# --- Checking an override ----------------------------------------------------------


def _children(value) -> Iterator:
    if isinstance(value, Node | TokenBase | TemplateLiteral):
        yield from vars(value).values()
    elif isinstance(value, NodeList | list | tuple):
        yield from value
    elif isinstance(value, dict):
        yield from value.values()


def _walk(template: Template) -> tuple[list[tuple[str, int]], set[str]]:
    """Return every variable the template names (with its line) and every name the template itself binds."""
    variables: list[tuple[str, int]] = []
    bound = {"forloop", "block"}
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(template.nodelist, 1)]
    while stack:
        value, line = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Node) and getattr(value, "token", None) is not None:
            line = value.token.lineno or line
            for attribute in ("loopvars", "asvar", "variable", "var_name", "variable_name", "countervar"):
                names = getattr(value, attribute, None)
                bound.update([names] if isinstance(names, str) else names or [])
            if isinstance(value, FilterNode):
                bound.add("var")  # {% filter %} applies its filters to a variable of that name
            extra = getattr(value, "extra_context", None)
            if isinstance(extra, dict) and type(value).__name__ != "IncludeNode":
                bound.update(extra)
        if isinstance(value, FilterExpression):
            if isinstance(value.var, Variable) and value.var.lookups:
                variables.append((value.var.var, line))
            for _filter, arguments in value.filters:
                variables.extend((arg.var, line) for lookup, arg in arguments if lookup and arg.lookups)
            continue
        stack.extend((child, line) for child in _children(value) if not isinstance(child, str | int | bool))
    return variables, bound


def message_template_check(*, kind: str, language: str, part: str, body: str) -> str:
    """Compile the override, check what it names and render it against the sample; return the rendering.

    Raise TemplateInvalid naming every problem found.
    """
    if not template_slot_exists(kind, language, part):
        raise TemplateInvalid(
            [
                _("There is no %(part)s template for %(kind)s in %(language)s.")
                % {"part": part, "kind": kind, "language": language}
            ]
        )
    template = _compile(body)
    context = _recording_context(kind, language)
    problems: list[str] = []
    reported: set[str] = set()
    # Every variable named outside a loop or {% with %}, even in a branch the sample does not take.
    variables, bound = _walk(template)
    for name, line in variables:
        if name.split(".", 1)[0] in bound:
            continue
        before = len(context.misses)
        # The miss is recorded; which exception the lookup ends in does not matter.
        with contextlib.suppress(Exception):
            Variable(name).resolve(context)
        for miss in context.misses[before:]:
            if miss not in reported:
                reported.add(miss)
                problems.append(_unknown(miss, kind, line))
        del context.misses[before:]
    rendered = ""
    try:
        with translation.override(language):
            rendered = template.render(context)
    except TemplateDoesNotExist as exc:
        problems.append(
            _(
                "%(name)s cannot be included or extended: an override may only use templates under %(dir)s, "
                "so that it reaches no other data."
            )
            % {"name": exc, "dir": EMAILS_DIR}
        )
    except VariableDoesNotExist as exc:
        if not context.misses and not reported:
            problems.append(_("It does not render: %(problem)s") % {"problem": _problem_with_line(exc)})
    except Exception as exc:  # any rendering error is the admin's to see; nothing is saved
        problems.append(_("It does not render: %(problem)s") % {"problem": _problem_with_line(exc)})
    # Names looked up while rendering, e.g. on a loop's items.
    for miss in context.misses:
        if miss not in reported:
            reported.add(miss)
            problems.append(_unknown(miss, kind, None))
    if part == MessageTemplatePart.SUBJECT and not problems:
        subject = rendered.strip()
        if not subject or "\n" in subject:
            problems.append(_("A subject must render to exactly one line that is not empty."))
    if problems:
        raise TemplateInvalid(problems)
    return rendered


def _unknown(name: str, kind: str, line: int | None) -> str:
    names = ", ".join(sorted(sample_context(kind, "en")))
    where = _("Line %(line)d: ") % {"line": line} if line else ""
    return where + _("unknown variable %(name)s: the %(kind)s message has %(names)s") % {
        "name": name,
        "kind": kind,
        "names": names,
    }


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    html: str


def message_template_preview(*, kind: str, language: str, part: str, body: str) -> Preview:
    """Render the whole message with the sample request, `body` standing in for `part`; the other parts as they are now.

    Raise TemplateInvalid if `body` is not a valid override.
    """
    message_template_check(kind=kind, language=language, part=part, body=body)
    overrides = dict(MessageTemplate.objects.filter(kind=kind, language=language).values_list("part", "body"))
    overrides[part] = body
    context = sample_context(kind, language)
    rendered = {}
    with translation.override(language):
        for slot_part in MessageTemplatePart.values:
            if slot_part in overrides:
                template = override_engine().from_string(overrides[slot_part])
                rendered[slot_part] = template.render(Context(context, autoescape=True))
            elif template_slot_exists(kind, language, slot_part):
                rendered[slot_part] = render_to_string(template_file_name(kind, language, slot_part), context)
            else:
                rendered[slot_part] = ""
    return Preview(subject=" ".join(rendered["subject"].split()), text=rendered["text"], html=rendered["html"])


# --- Services ----------------------------------------------------------------------


def message_template_version(override: MessageTemplate | None) -> str:
    """Return what a form carries to notice a change made after it was drawn ("" for the file template)."""
    return override.updated_at.isoformat() if override is not None else ""


def _locked(kind: str, language: str, part: str) -> MessageTemplate | None:
    return MessageTemplate.objects.select_for_update().filter(kind=kind, language=language, part=part).first()


def message_template_save(
    *, kind: str, language: str, part: str, body: str, seen: str, actor: Actor, user=None
) -> MessageTemplate | None:
    """Save an override after checking it; return it, or None when the text is the file's own (nothing to save).

    `seen` is message_template_version() as the form was drawn; a different current version raises
    TemplateConflict. An invalid body raises TemplateInvalid. Either way nothing changes.
    """
    body = body.replace("\r\n", "\n")
    message_template_check(kind=kind, language=language, part=part, body=body)
    with transaction.atomic():
        override = _locked(kind, language, part)
        if message_template_version(override) != seen:
            raise TemplateConflict(_("This template was changed after you opened it; nothing was saved."))
        if override is None and body == template_file_text(kind, language, part):
            return None
        if override is not None and override.body == body:
            return override
        now = timezone.now()
        if override is None:
            try:
                with transaction.atomic():  # a savepoint: a colleague's first save may win the race
                    override = MessageTemplate.objects.create(
                        kind=kind, language=language, part=part, body=body, updated_by=user, updated_at=now
                    )
            except IntegrityError:
                raise TemplateConflict(_("This template was changed after you opened it; nothing was saved.")) from None
        else:
            override.body, override.updated_by, override.updated_at = body, user, now
            override.save(update_fields=["body", "updated_by", "updated_at"])
        # Which template, never its text.
        audit_record(
            actor=actor,
            action=AuditAction.MESSAGE_TEMPLATE_CHANGED,
            data={"kind": kind, "language": language, "part": part},
        )
    return override


def message_template_reset(*, kind: str, language: str, part: str, seen: str, actor: Actor) -> bool:
    """Delete the override so the file template is used again; return False if there was none.

    Raise TemplateConflict if the override changed after the form was drawn.
    """
    with transaction.atomic():
        override = _locked(kind, language, part)
        if message_template_version(override) != seen:
            raise TemplateConflict(_("This template was changed after you opened it; nothing was reset."))
        if override is None:
            return False
        override.delete()
        audit_record(
            actor=actor,
            action=AuditAction.MESSAGE_TEMPLATE_RESET,
            data={"kind": kind, "language": language, "part": part},
        )
    return True


def message_template_overrides() -> dict[tuple[str, str, str], MessageTemplate]:
    """Return every override by (kind, language, part), for the admin's list."""
    return {(o.kind, o.language, o.part): o for o in MessageTemplate.objects.select_related("updated_by")}
