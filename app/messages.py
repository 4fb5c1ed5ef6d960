"""Where the page shows what it has to say: an invalid value's message beside its field (and in
full at the top), and prose as HTML rendered here (Solara's Markdown would load KaTeX from a
CDN, which an offline page cannot)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown
import solara

from sim.errors import InputError

_ACTION_FIELD = re.compile(r"actions\[(\d+)\]\.(\w+)")
_PREFIX = re.compile(r"^config '.*?': ")
VALUE_FIELDS = {"factor", "probability"}  # the editor's one 'value' box holds either


@dataclass(frozen=True)
class Problem:
    """An invalid input: the whole message, the editor field it belongs to (a key such as
    'action-0-targets', 'behaviour-beta_wait', 'runs', 'name', 'scale'; '' when none), and the
    short text to show beside that field."""

    message: str
    field: str
    beside: str


NO_PROBLEM = Problem("", "", "")


def field_key(field: str) -> str:
    """The editor field of a configuration field named in an error."""
    found = _ACTION_FIELD.search(field)
    if found:
        name = found.group(2)
        return f"action-{found.group(1)}-{'value' if name in VALUE_FIELDS else name}"
    if field.startswith("behaviour."):
        return "behaviour-" + field.removeprefix("behaviour.")
    return {"runs": "runs", "policy.name": "name", "population.scale": "scale"}.get(field, "")


def problem_of(err: Exception) -> Problem:
    message = str(err)
    field = str(getattr(err, "field", "") or "") if isinstance(err, InputError) else ""
    return Problem(message, field_key(field), _PREFIX.sub("", message))


def beside(problem: Problem, key: str) -> str | bool:
    """The message for the field `key` (a solara input's `error`), or False."""
    return problem.beside if problem.field == key else False


def prose_html(text: str) -> str:
    """Markdown (tables too) as HTML; raw HTML in `text` is escaped, not passed through."""
    return markdown.markdown(html.escape(text, quote=False), extensions=["tables"])


@solara.component
def Prose(text: str, classes: list[str] | None = None, style: str = "") -> None:
    solara.HTML(tag="div", unsafe_innerHTML=prose_html(text), classes=classes or [],
                style=style)
