"""Reading an iCalendar file: decoding and checking its structure, line by line (see ``agenda.ical``)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from icalendar import Calendar

# --- Import: reading the file ---------------------------------------------------------------------------------------


class IcalFileError(ValueError):
    """The file cannot be read as iCalendar: the French reason, with the line when it is known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


class ComponentError(ValueError):
    """One VEVENT or VTODO of a readable file cannot be imported."""

    def __init__(self, message: str, *, field_name: str = "") -> None:
        self.field_name = field_name
        super().__init__(message)


# content-line = name *(";" param) ":" value (RFC 5545 §3.1); parameter values may be quoted.
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_CONTENT_LINE = re.compile(rf"^[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*:")


@dataclass
class ParsedFile:
    calendars: list[Calendar]
    # The line of each BEGIN:VEVENT and BEGIN:VTODO, in the order of the file, for the error messages.
    event_lines: list[int]
    todo_lines: list[int]


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide : c’est un fichier binaire."))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise IcalFileError(
            _("Ce fichier n’est pas un calendrier iCalendar valide : son texte n’est pas en UTF-8 (ligne %(line)s).")
            % {"line": line},
            line,
        ) from error


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded content lines (a line starting with a space or a tab continues the previous one), each with the
    number of its first physical line."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _invalid_at(line: int, detail: str) -> IcalFileError:
    return IcalFileError(
        _("Ce fichier n’est pas un calendrier iCalendar valide (ligne %(line)s : %(detail)s).")
        % {"line": line, "detail": detail},
        line,
    )


def _check_structure(text: str) -> tuple[list[int], list[int]]:
    """Check the content lines and the BEGIN/END nesting, so that an error can name its line (the parser does not)."""
    lines = _logical_lines(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise IcalFileError(
            _("Ce fichier n’est pas un calendrier iCalendar valide : il doit commencer par « BEGIN:VCALENDAR ».")
        )
    stack: list[tuple[str, int]] = []
    event_lines: list[int] = []
    todo_lines: list[int] = []
    for number, content in lines:
        if not _CONTENT_LINE.match(content):
            raise _invalid_at(number, _("« %(text)s » n’est pas une ligne iCalendar") % {"text": content[:60]})
        name, _sep, value = content.partition(":")
        name, value = name.split(";")[0].upper(), value.strip().upper()
        if name == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise _invalid_at(number, _("%(name)s hors du calendrier") % {"name": value[:30]})
            stack.append((value, number))
            if value == "VEVENT":
                event_lines.append(number)
            elif value == "VTODO":
                todo_lines.append(number)
        elif name == "END":
            if stack and stack[-1][0] != value:
                raise _invalid_at(
                    number,
                    _("« END:%(name)s » alors que « BEGIN:%(open)s » (ligne %(line)s) n’est pas fermé")
                    % {"name": value[:30], "open": stack[-1][0][:30], "line": stack[-1][1]},
                )
            if not stack:
                raise _invalid_at(number, _("« END:%(name)s » inattendu") % {"name": value[:30]})
            stack.pop()
        elif not stack:
            raise _invalid_at(number, _("texte hors du calendrier"))
    if stack:
        name, number = stack[-1]
        raise _invalid_at(number, _("« BEGIN:%(name)s » n’est jamais fermé") % {"name": name[:30]})
    return event_lines, todo_lines


def calendar_parse(data: bytes) -> ParsedFile:
    """Read ``data`` as one or more VCALENDARs. ``IcalFileError`` (French, with the line where known) otherwise."""
    text = _decode(data)
    event_lines, todo_lines = _check_structure(text)
    try:
        with warnings.catch_warnings():
            # icalendar warns when it guesses a vendor-prefixed TZID; the guess is what we want.
            warnings.simplefilter("ignore")
            # Bytes, never a str: icalendar reads a one-line str as a path to a file of the server.
            calendars = Calendar.from_ical(text.encode("utf-8"), multiple=True)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide.")) from error
    calendars = [calendar for calendar in calendars if calendar.name == "VCALENDAR"]
    if not calendars:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide."))
    return ParsedFile(calendars=calendars, event_lines=event_lines, todo_lines=todo_lines)
