"""The versioned table of the French national prevention programmes (DOMAIN.md §8), read from data.

The rules live in ``agenda/data/prevention.yaml`` (a ``version`` such as ``2026.1``, each programme's label,
explanation, official link, sex and schedule), not in code, so that a change of a national programme is a reviewed
change of data with a new version. The file is read and validated once per process, on first use: anything wrong
(an unknown key, an age out of range, overlapping windows, a missing or unofficial link...) stops the loading with a
``PreventionTableError`` that names the programme and the field, rather than generating wrong key dates for
millions of people. A Django system check (``manage.py check``, run at deployment) loads it too.

Two kinds of schedule:

- ``ages``: windows opened by a birthday: [birthday of the opening age, day before the birthday of the closing
  age]. A window's occurrence key is its opening age (``"50"``).
- ``season``: one campaign a year (the flu vaccination) from the birthday of ``from_age``; its occurrence key is the
  year the campaign opens (``"2026"`` for the 2026-2027 campaign).

The key dates themselves are generated in SQL (``agenda.services.prevention``) from ``age_windows_rows`` and
``season_rows``; this module and its data file are the only place the schedules are spelled out.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.core import checks
from django.utils.translation import gettext as _

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_TABLE_PATH = DATA_DIR / "prevention.yaml"

SEX_ALL = "all"
SEXES = ("F", "M", SEX_ALL)
# Ages are whole years; nobody's key dates are computed past this age (a series without ``to`` stops here).
MAX_AGE = 120
# Official sources only: a key date sends people to the State's, the Assurance Maladie's or the Institut national du
# cancer's own pages (and their sub-domains, such as monbilanprevention.sante.gouv.fr).
OFFICIAL_HOSTS = ("ameli.fr", "sante.gouv.fr", "e-cancer.fr", "cancer.fr", "service-public.fr", "has-sante.fr")
# The model's column sizes (agenda.models.PreventionDate).
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
VERSION_PATTERN = re.compile(r"^[0-9]{4}\.[0-9]{1,3}$")
MONTH_DAY_PATTERN = re.compile(r"^([0-9]{2})-([0-9]{2})$")
LABEL_MAX_LENGTH = 120
TEXT_MAX_LENGTH = 900
# A sentence ends with . ! ? or … followed by a blank or the end of the text.
SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")


class PreventionTableError(ValueError):
    """The table cannot be used: the message says where and what (in French, for whoever edits the file)."""


@dataclass(frozen=True)
class AgeWindow:
    """A window opened by a birthday: from the birthday of ``opens`` to the day before the birthday of ``closes``."""

    opens: int
    closes: int
    step: str = ""

    @property
    def occurrence(self) -> str:
        return str(self.opens)


@dataclass(frozen=True)
class Season:
    """A yearly campaign, from ``opens`` (month, day) to ``closes`` (in the following year when earlier)."""

    from_age: int
    opens: tuple[int, int]
    closes: tuple[int, int]
    step: str = ""

    @property
    def closes_next_year(self) -> bool:
        return self.closes < self.opens


@dataclass(frozen=True)
class Programme:
    code: str
    label: str
    explanation: str
    link: str
    link_label: str
    sex: str  # "F", "M" or "all" (people of sex « I », indéterminé, get the programmes for all)
    audience: str  # who and how often, in a few words (« Femmes de 50 à 74 ans, tous les 2 ans »)
    windows: tuple[AgeWindow, ...] = ()
    season: Season | None = None

    def applies_to_sex(self, sex: str) -> bool:
        return self.sex == SEX_ALL or self.sex == sex

    def step_label(self, occurrence: str) -> str:
        """What is done in one occurrence (« Test HPV », « Campagne de vaccination 2026-2027 »), or ''."""
        if self.season is not None:
            if not occurrence.isdigit():
                return ""
            year = int(occurrence)
            period = f"{year}-{year + 1}" if self.season.closes_next_year else str(year)
            return f"{self.season.step} {period}".strip()
        for window in self.windows:
            if window.occurrence == occurrence:
                return window.step
        return ""


@dataclass(frozen=True)
class PreventionTable:
    version: str
    published: date
    source: str  # the sentence that tells people where the rules come from
    programmes: tuple[Programme, ...]
    path: str = ""

    def get(self, code: str) -> Programme | None:
        for programme in self.programmes:
            if programme.code == code:
                return programme
        return None

    def age_windows_rows(self) -> list[tuple[int, str, str, str, int, int, bool]]:
        """For each age and programme, the one window a person of that age may be shown, for the SQL.

        (age, programme, sex, occurrence, opening age, closing age, upcoming): the window the age falls in, else the
        window that opens at the next birthday (``upcoming``: shown only once that birthday is within the horizon).
        Windows never overlap, so a person has at most one row per programme, found by equality on the age.
        """
        rows = []
        for programme in self.programmes:
            if not programme.windows:
                continue
            last = max(window.closes for window in programme.windows)
            for age in range(last):
                current = next((w for w in programme.windows if w.opens <= age < w.closes), None)
                window = current or next((w for w in programme.windows if w.opens == age + 1), None)
                if window is not None:
                    rows.append(
                        (
                            age,
                            programme.code,
                            programme.sex,
                            window.occurrence,
                            window.opens,
                            window.closes,
                            current is None,
                        )
                    )
        return rows

    def season_rows(self) -> list[tuple[str, str, int, int, int, int, int]]:
        """(programme, sex, from age, opening month, day, closing month, day) of every yearly campaign."""
        return [
            (
                programme.code,
                programme.sex,
                programme.season.from_age,
                *programme.season.opens,
                *programme.season.closes,
            )
            for programme in self.programmes
            if programme.season is not None
        ]


# --- Loading and validation ----------------------------------------------------------------------------------------

TOP_KEYS = {"version", "published", "source", "programmes"}
PROGRAMME_KEYS = {"code", "label", "sex", "audience", "explanation", "link", "link_label", "schedule"}
AGES_KEYS = {"kind", "windows", "last_age"}
SEASON_KEYS = {"kind", "from_age", "opens", "closes", "step"}
WINDOW_KEYS = {"at", "years", "step"}
SERIES_KEYS = {"from", "to", "every", "step"}


class _Reader:
    """Validation helpers that name the place of each error (« programme « mt-dents », schedule.windows[0] »)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, message: str) -> PreventionTableError:
        return PreventionTableError(f"{self.origin}, {where} : {message}")

    def mapping(self, value, where: str, *, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, _("un objet (des clés et des valeurs) est attendu."))
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            raise self.fail(
                where,
                _("clé inconnue « %(keys)s » (clés permises : %(allowed)s).")
                % {"keys": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
            )
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, _("clé obligatoire absente : « %(keys)s ».") % {"keys": ", ".join(missing)})
        return value

    def text(self, value, where: str, *, max_length: int = LABEL_MAX_LENGTH) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, _("un texte non vide est attendu."))
        text = " ".join(value.split())
        if len(text) > max_length:
            raise self.fail(where, _("le texte dépasse %(max)s caractères.") % {"max": max_length})
        return text

    def age(self, value, where: str, *, low: int = 0, high: int = MAX_AGE) -> int:
        # bool is an int in Python: « true » is not an age.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, _("un âge en années entières est attendu (reçu : %(value)r).") % {"value": value})
        if not low <= value <= high:
            raise self.fail(
                where,
                _("l’âge %(value)s est hors de l’intervalle %(low)s à %(high)s.")
                % {"value": value, "low": low, "high": high},
            )
        return value

    def month_day(self, value, where: str) -> tuple[int, int]:
        match = MONTH_DAY_PATTERN.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.fail(where, _("une date de la forme MM-JJ est attendue (reçu : %(value)r).") % {"value": value})
        month, day = int(match.group(1)), int(match.group(2))
        try:
            # A year without 29 February: a campaign cannot open or close on a day that most years lack.
            date(2025, month, day)
        except ValueError:
            raise self.fail(where, _("la date %(value)s n’existe pas tous les ans.") % {"value": value}) from None
        return month, day


def _explanation(reader: _Reader, value, where: str) -> str:
    text = reader.text(value, where, max_length=TEXT_MAX_LENGTH)
    sentences = len(SENTENCE_END.findall(text))
    if not 2 <= sentences <= 4:
        raise reader.fail(
            where, _("l’explication doit tenir en 2 à 4 phrases (%(count)s trouvée(s)).") % {"count": sentences}
        )
    return text


def _link(reader: _Reader, value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise reader.fail(where, _("le lien vers la page officielle est obligatoire."))
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not any(host == name or host.endswith("." + name) for name in OFFICIAL_HOSTS):
        raise reader.fail(
            where,
            _("le lien doit mener en https à un site officiel (%(hosts)s) : « %(value)s ».")
            % {"hosts": ", ".join(OFFICIAL_HOSTS), "value": value},
        )
    return value.strip()


def _age_windows(reader: _Reader, schedule: dict, where: str) -> tuple[AgeWindow, ...]:
    reader.mapping(schedule, where, allowed=AGES_KEYS, required={"kind", "windows"})
    last_age = schedule.get("last_age")
    if last_age is not None:
        last_age = reader.age(last_age, f"{where}.last_age")
    items = schedule["windows"]
    if not isinstance(items, list) or not items:
        raise reader.fail(f"{where}.windows", _("une liste d’au moins une fenêtre est attendue."))
    windows: list[AgeWindow] = []
    for index, item in enumerate(items):
        place = f"{where}.windows[{index}]"
        if isinstance(item, dict) and "at" in item:
            reader.mapping(item, place, allowed=WINDOW_KEYS, required={"at", "years"})
            opens = reader.age(item["at"], f"{place}.at")
            years = reader.age(item["years"], f"{place}.years", low=1)
            spans = [(opens, opens + years)]
        else:
            reader.mapping(item, place, allowed=SERIES_KEYS, required={"from", "every"})
            first = reader.age(item["from"], f"{place}.from")
            last = reader.age(item.get("to", MAX_AGE), f"{place}.to")
            every = reader.age(item["every"], f"{place}.every", low=1)
            if last < first:
                raise reader.fail(
                    place, _("« to » (%(to)s) précède « from » (%(from)s).") % {"to": last, "from": first}
                )
            spans = [(age, age + every) for age in range(first, last + 1, every)]
        step = reader.text(item["step"], f"{place}.step") if "step" in item else ""
        for opens, closes in spans:
            if last_age is not None:
                if opens > last_age:
                    raise reader.fail(
                        place,
                        _("la fenêtre de %(age)s ans s’ouvre après le dernier âge du programme (%(last)s ans).")
                        % {"age": opens, "last": last_age},
                    )
                closes = min(closes, last_age + 1)
            windows.append(AgeWindow(opens=opens, closes=closes, step=step))
    for previous, window in itertools.pairwise(windows):
        # Windows in order and apart: at any date a person is in one window of a programme at most.
        if window.opens < previous.closes:
            raise reader.fail(
                f"{where}.windows",
                _("les fenêtres de %(first)s ans et de %(second)s ans se chevauchent ou ne sont pas dans l’ordre.")
                % {"first": previous.opens, "second": window.opens},
            )
    return tuple(windows)


def _season(reader: _Reader, schedule: dict, where: str) -> Season:
    reader.mapping(schedule, where, allowed=SEASON_KEYS, required={"kind", "from_age", "opens", "closes"})
    opens = reader.month_day(schedule["opens"], f"{where}.opens")
    closes = reader.month_day(schedule["closes"], f"{where}.closes")
    if opens == closes:
        raise reader.fail(where, _("la campagne doit durer plus d’un jour."))
    return Season(
        from_age=reader.age(schedule["from_age"], f"{where}.from_age"),
        opens=opens,
        closes=closes,
        step=reader.text(schedule["step"], f"{where}.step") if "step" in schedule else "",
    )


def _programme(reader: _Reader, value, index: int) -> Programme:
    where = f"programmes[{index}]"
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        where = _("programme « %(code)s »") % {"code": value["code"]}
    data = reader.mapping(value, where, allowed=PROGRAMME_KEYS, required=PROGRAMME_KEYS)
    code = data["code"]
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise reader.fail(
            where,
            _("le code doit faire 2 à 40 caractères : minuscules, chiffres et tirets (reçu : %(value)r).")
            % {"value": code},
        )
    if data["sex"] not in SEXES:
        raise reader.fail(
            f"{where}, sex", _("« F », « M » ou « all » est attendu (reçu : %(value)r).") % {"value": data["sex"]}
        )
    schedule = data["schedule"]
    kind = schedule.get("kind") if isinstance(schedule, dict) else None
    windows: tuple[AgeWindow, ...] = ()
    season = None
    if kind == "ages":
        windows = _age_windows(reader, schedule, f"{where}, schedule")
    elif kind == "season":
        season = _season(reader, schedule, f"{where}, schedule")
    else:
        raise reader.fail(
            f"{where}, schedule.kind", _("« ages » ou « season » est attendu (reçu : %(value)r).") % {"value": kind}
        )
    return Programme(
        code=code,
        label=reader.text(data["label"], f"{where}, label"),
        explanation=_explanation(reader, data["explanation"], f"{where}, explanation"),
        link=_link(reader, data["link"], f"{where}, link"),
        link_label=reader.text(data["link_label"], f"{where}, link_label"),
        sex=data["sex"],
        audience=reader.text(data["audience"], f"{where}, audience"),
        windows=windows,
        season=season,
    )


def table_parse(data, *, origin: str = "prevention") -> PreventionTable:
    """Validate the table's data (as read from the file) and build it, or raise ``PreventionTableError``."""
    reader = _Reader(origin)
    reader.mapping(data, _("racine"), allowed=TOP_KEYS, required=TOP_KEYS)
    version = data["version"]
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise reader.fail("version", _("une version de la forme « 2026.1 » (entre guillemets) est attendue."))
    published = data["published"]
    if not isinstance(published, date):
        raise reader.fail("published", _("une date de la forme AAAA-MM-JJ est attendue."))
    programmes_data = data["programmes"]
    if not isinstance(programmes_data, list) or not programmes_data:
        raise reader.fail("programmes", _("une liste d’au moins un programme est attendue."))
    programmes = tuple(_programme(reader, value, index) for index, value in enumerate(programmes_data))
    seen: set[str] = set()
    for programme in programmes:
        if programme.code in seen:
            raise reader.fail("programmes", _("le code « %(code)s » est en double.") % {"code": programme.code})
        seen.add(programme.code)
    return PreventionTable(
        version=version,
        published=published,
        source=reader.text(data["source"], "source", max_length=TEXT_MAX_LENGTH),
        programmes=programmes,
        path=origin,
    )


def table_load(path: Path | str = DEFAULT_TABLE_PATH) -> PreventionTable:
    """Read and validate a table file (YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PreventionTableError(f"{path} : {_('fichier illisible')} ({error.strerror}).") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PreventionTableError(f"{path} : {_('YAML invalide')} ({error}).") from error
    return table_parse(data, origin=path.name)


_lock = threading.Lock()
_current: PreventionTable | None = None


def current_table() -> PreventionTable:
    """The table in force, read and validated once per process."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = table_load()
    return _current


def programme_get(code: str) -> Programme | None:
    """The programme of the table in force, or ``None`` when it has left the table."""
    return current_table().get(code)


def table_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check (registered by ``agenda.apps``): a broken table stops the deployment, not the nightly job."""
    try:
        current_table()
    except PreventionTableError as error:
        return [checks.Error(str(error), id="agenda.E001")]
    return []
