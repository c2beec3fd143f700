"""Prevention key dates, programme by programme: the day before, of and after each birthday that matters, each sex,
people born on 29 February, and the 12-month horizon (table-driven, through the real SQL of the generation).

``expected_key_dates`` restates the rules in plain Python from the table; the randomised test at the end checks that
the SQL and this restatement agree for many people and days.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from agenda.models import PreventionDate
from agenda.prevention import SEX_ALL, PreventionTable, current_table
from agenda.services.prevention import horizon_of, prevention_dates_refresh_citizen, prevention_dates_refresh_range
from mes.comptes.models import CitizenStatus
from tests.factories import CitizenFactory

BREAST = "depistage-cancer-sein"
COLORECTAL = "depistage-cancer-colorectal"
CERVICAL = "depistage-cancer-col-uterus"
DENTAL = "mt-dents"
BOOSTER = "rappel-dtp"
FLU = "vaccination-grippe"
CHECKUP = "mon-bilan-prevention"


def person(*, born: date, sex: str = "F", status: str = CitizenStatus.ACTIVATED, **extra):
    """A citizen without an account (faster; the key dates depend on the birth date, the sex and the status only)."""
    if status not in (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY):
        extra.setdefault("mss_address", "")
    if status == CitizenStatus.CLOSED:
        extra.setdefault("closed_at", date(2024, 1, 1).isoformat() + "T00:00:00Z")
    if status == CitizenStatus.NOTIFIED:
        extra.setdefault("notified_at", "2024-01-01T00:00:00Z")
        extra.setdefault("deadline", "2024-02-10T00:00:00Z")
    return CitizenFactory(user=None, birth_date=born, sex=sex, status=status, **extra)


def key_dates(citizen, today: date) -> dict[str, tuple[str, date, date | None]]:
    """Refresh one person for ``today``, then their pending key dates: programme → (occurrence, from, until)."""
    prevention_dates_refresh_citizen(citizen=citizen, today=today)
    return {
        row.programme: (row.occurrence, row.due_from, row.due_until)
        for row in PreventionDate.objects.filter(citizen=citizen, status="pending")
    }


def birthday(born: date, years: int) -> date:
    """The day one reaches ``years``: born on 29 February, on 1 March in the other years."""
    day = born + relativedelta(years=years)
    return day + timedelta(days=1) if day.day != born.day else day


def expected_key_dates(table: PreventionTable, born: date, sex: str, today: date) -> dict[str, tuple[str, date, date]]:
    """The rules in plain Python: per programme, the current occurrence, or else the next one opening by the horizon."""
    horizon = horizon_of(today)
    found = {}
    for programme in table.programmes:
        if programme.sex not in (SEX_ALL, sex):
            continue
        candidates = []
        for window in programme.windows:
            candidates.append(
                (window.occurrence, birthday(born, window.opens), birthday(born, window.closes) - timedelta(1))
            )
        if programme.season is not None:
            season = programme.season
            eligible = birthday(born, season.from_age)
            for year in (today.year - 1, today.year, today.year + 1):
                opens = date(year, *season.opens)
                closes = date(year + (1 if season.closes_next_year else 0), *season.closes)
                if eligible <= closes:
                    candidates.append((str(year), max(opens, eligible), closes))
        live = [c for c in candidates if c[2] >= today and c[1] <= horizon and c[1] <= c[2]]
        if live:
            found[programme.code] = min(live, key=lambda c: c[1])
    return found


# (programme, sex, birth date, today, expected (occurrence, from, until) or None)
CASES = [
    # Breast screening: women, windows of 2 years from the 50th birthday, the last one opened at 74.
    (BREAST, "F", date(1976, 3, 10), date(2025, 3, 9), None),  # 50th birthday beyond the 12-month horizon
    (BREAST, "F", date(1976, 3, 10), date(2025, 3, 10), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (BREAST, "F", date(1976, 3, 10), date(2026, 3, 9), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (BREAST, "F", date(1976, 3, 10), date(2026, 3, 10), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (BREAST, "F", date(1976, 3, 10), date(2028, 3, 9), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (BREAST, "F", date(1976, 3, 10), date(2028, 3, 10), ("52", date(2028, 3, 10), date(2030, 3, 9))),
    (BREAST, "F", date(1976, 3, 10), date(2028, 3, 11), ("52", date(2028, 3, 10), date(2030, 3, 9))),
    (BREAST, "F", date(1951, 6, 1), date(2025, 5, 31), ("72", date(2023, 6, 1), date(2025, 5, 31))),
    (BREAST, "F", date(1951, 6, 1), date(2025, 6, 1), ("74", date(2025, 6, 1), date(2026, 5, 31))),
    (BREAST, "F", date(1951, 6, 1), date(2026, 5, 31), ("74", date(2025, 6, 1), date(2026, 5, 31))),
    (BREAST, "F", date(1951, 6, 1), date(2026, 6, 1), None),  # 75: the programme has ended
    (BREAST, "M", date(1976, 3, 10), date(2026, 3, 10), None),
    (BREAST, "I", date(1976, 3, 10), date(2026, 3, 10), None),
    # Colorectal screening: everyone, the same windows.
    (COLORECTAL, "M", date(1976, 3, 10), date(2026, 3, 10), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (COLORECTAL, "I", date(1976, 3, 10), date(2026, 3, 10), ("50", date(2026, 3, 10), date(2028, 3, 9))),
    (COLORECTAL, "F", date(1976, 3, 10), date(2025, 3, 9), None),
    (COLORECTAL, "M", date(1951, 6, 1), date(2026, 5, 31), ("74", date(2025, 6, 1), date(2026, 5, 31))),
    (COLORECTAL, "M", date(1951, 6, 1), date(2026, 6, 1), None),
    # Cervical screening: women; cytology at 25, 26 (a year apart), 29 (3 years later), then an HPV test at 32, ...
    (CERVICAL, "F", date(2000, 7, 15), date(2024, 7, 14), None),
    (CERVICAL, "F", date(2000, 7, 15), date(2024, 7, 15), ("25", date(2025, 7, 15), date(2026, 7, 14))),
    (CERVICAL, "F", date(2000, 7, 15), date(2026, 7, 14), ("25", date(2025, 7, 15), date(2026, 7, 14))),
    (CERVICAL, "F", date(2000, 7, 15), date(2026, 7, 15), ("26", date(2026, 7, 15), date(2029, 7, 14))),
    (CERVICAL, "F", date(2000, 7, 15), date(2029, 7, 15), ("29", date(2029, 7, 15), date(2032, 7, 14))),
    (CERVICAL, "F", date(2000, 7, 15), date(2032, 7, 15), ("32", date(2032, 7, 15), date(2037, 7, 14))),
    (CERVICAL, "F", date(1960, 7, 15), date(2025, 7, 15), ("62", date(2022, 7, 15), date(2026, 7, 14))),
    (CERVICAL, "F", date(1960, 7, 15), date(2026, 7, 14), ("62", date(2022, 7, 15), date(2026, 7, 14))),
    (CERVICAL, "F", date(1960, 7, 15), date(2026, 7, 15), None),  # 66: after the programme
    (CERVICAL, "M", date(2000, 7, 15), date(2026, 7, 15), None),
    (CERVICAL, "I", date(2000, 7, 15), date(2026, 7, 15), None),
    # M'T dents: everyone from 3 to 24, a check-up in the year after each birthday.
    (DENTAL, "M", date(2022, 9, 1), date(2024, 8, 31), None),
    (DENTAL, "M", date(2022, 9, 1), date(2024, 9, 1), ("3", date(2025, 9, 1), date(2026, 8, 31))),
    (DENTAL, "I", date(2022, 9, 1), date(2025, 9, 1), ("3", date(2025, 9, 1), date(2026, 8, 31))),
    (DENTAL, "F", date(2022, 9, 1), date(2026, 9, 1), ("4", date(2026, 9, 1), date(2027, 8, 31))),
    (DENTAL, "F", date(2001, 9, 1), date(2026, 8, 31), ("24", date(2025, 9, 1), date(2026, 8, 31))),
    (DENTAL, "F", date(2001, 9, 1), date(2026, 9, 1), None),
    # Boosters: 25, 45, 65, then every 10 years; a booster stays due until the next one.
    (BOOSTER, "M", date(2000, 7, 15), date(2024, 7, 14), None),
    (BOOSTER, "M", date(2000, 7, 15), date(2024, 7, 15), ("25", date(2025, 7, 15), date(2045, 7, 14))),
    (BOOSTER, "F", date(1980, 7, 15), date(2025, 7, 14), ("25", date(2005, 7, 15), date(2025, 7, 14))),
    (BOOSTER, "F", date(1980, 7, 15), date(2025, 7, 15), ("45", date(2025, 7, 15), date(2045, 7, 14))),
    (BOOSTER, "I", date(1950, 7, 15), date(2025, 7, 14), ("65", date(2015, 7, 15), date(2025, 7, 14))),
    (BOOSTER, "I", date(1950, 7, 15), date(2025, 7, 15), ("75", date(2025, 7, 15), date(2035, 7, 14))),
    (BOOSTER, "M", date(1930, 1, 1), date(2026, 1, 1), ("95", date(2025, 1, 1), date(2034, 12, 31))),
    # Flu: every campaign (15 October – 31 January) from the 65th birthday.
    (FLU, "F", date(1950, 5, 5), date(2026, 1, 31), ("2025", date(2025, 10, 15), date(2026, 1, 31))),
    (FLU, "F", date(1950, 5, 5), date(2026, 2, 1), ("2026", date(2026, 10, 15), date(2027, 1, 31))),
    (FLU, "M", date(1950, 5, 5), date(2026, 10, 15), ("2026", date(2026, 10, 15), date(2027, 1, 31))),
    (FLU, "I", date(1961, 11, 20), date(2026, 3, 1), ("2026", date(2026, 11, 20), date(2027, 1, 31))),
    (FLU, "M", date(1962, 1, 31), date(2026, 3, 1), ("2026", date(2027, 1, 31), date(2027, 1, 31))),
    (FLU, "M", date(1962, 2, 1), date(2026, 3, 1), None),  # 65 after the 2026 campaign, 2027's is too far
    (FLU, "M", date(1962, 2, 1), date(2026, 10, 16), ("2027", date(2027, 10, 15), date(2028, 1, 31))),
    # Mon bilan prévention: once in each age band.
    (CHECKUP, "F", date(2000, 7, 15), date(2017, 7, 14), None),
    (CHECKUP, "F", date(2000, 7, 15), date(2017, 7, 15), ("18", date(2018, 7, 15), date(2026, 7, 14))),
    (CHECKUP, "M", date(2000, 7, 15), date(2026, 7, 14), ("18", date(2018, 7, 15), date(2026, 7, 14))),
    (CHECKUP, "M", date(2000, 7, 15), date(2026, 7, 15), None),
    (CHECKUP, "I", date(1980, 7, 15), date(2025, 7, 15), ("45", date(2025, 7, 15), date(2031, 7, 14))),
    (CHECKUP, "I", date(1980, 7, 15), date(2031, 7, 15), None),
    (CHECKUP, "F", date(1961, 7, 15), date(2026, 7, 14), ("60", date(2021, 7, 15), date(2027, 7, 14))),
    (CHECKUP, "F", date(1950, 7, 15), date(2025, 7, 15), ("70", date(2020, 7, 15), date(2026, 7, 14))),
    # Born on 29 February: the birthday is 1 March in the other years, and 29 February in leap years.
    (BREAST, "F", date(1976, 2, 29), date(2026, 2, 28), ("50", date(2026, 3, 1), date(2028, 2, 28))),
    (BREAST, "F", date(1976, 2, 29), date(2026, 3, 1), ("50", date(2026, 3, 1), date(2028, 2, 28))),
    (BREAST, "F", date(1976, 2, 29), date(2028, 2, 28), ("50", date(2026, 3, 1), date(2028, 2, 28))),
    (BREAST, "F", date(1976, 2, 29), date(2028, 2, 29), ("52", date(2028, 2, 29), date(2030, 2, 28))),
    (BOOSTER, "M", date(2000, 2, 29), date(2025, 2, 28), ("25", date(2025, 3, 1), date(2045, 2, 28))),
    (DENTAL, "F", date(2020, 2, 29), date(2023, 3, 1), ("3", date(2023, 3, 1), date(2024, 2, 28))),
    (DENTAL, "F", date(2020, 2, 29), date(2024, 2, 29), ("4", date(2024, 2, 29), date(2025, 2, 28))),
    (CHECKUP, "M", date(2008, 2, 29), date(2025, 2, 28), None),  # horizon 28 Feb 2026, 18 on 1 March 2026
    (CHECKUP, "M", date(2008, 2, 29), date(2025, 3, 1), ("18", date(2026, 3, 1), date(2034, 2, 28))),
    (FLU, "F", date(1960, 2, 29), date(2025, 3, 1), ("2025", date(2025, 10, 15), date(2026, 1, 31))),
    (FLU, "F", date(1961, 2, 28), date(2026, 2, 27), ("2026", date(2026, 10, 15), date(2027, 1, 31))),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("programme", "sex", "born", "today", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-born{c[2]}-on{c[3]}" for c in CASES],
)
def test_key_date_of_each_programme(programme, sex, born, today, expected):
    citizen = person(born=born, sex=sex)
    assert key_dates(citizen, today).get(programme) == expected
    # The plain-Python restatement of the rules says the same.
    assert expected_key_dates(current_table(), born, sex, today).get(programme) == expected


@pytest.mark.django_db
def test_a_person_of_55_gets_the_programmes_of_her_age_and_sex_only():
    today = date(2026, 4, 1)
    woman = person(born=date(1971, 1, 10), sex="F")
    man = person(born=date(1971, 1, 10), sex="M")
    assert key_dates(woman, today) == {
        BREAST: ("54", date(2025, 1, 10), date(2027, 1, 9)),
        COLORECTAL: ("54", date(2025, 1, 10), date(2027, 1, 9)),
        CERVICAL: ("52", date(2023, 1, 10), date(2028, 1, 9)),
        BOOSTER: ("45", date(2016, 1, 10), date(2036, 1, 9)),
    }
    assert key_dates(man, today) == {
        COLORECTAL: ("54", date(2025, 1, 10), date(2027, 1, 9)),
        BOOSTER: ("45", date(2016, 1, 10), date(2036, 1, 9)),
    }


@pytest.mark.django_db
def test_a_baby_has_no_key_date_yet():
    assert key_dates(person(born=date(2025, 6, 1), sex="M"), date(2026, 4, 1)) == {}


@pytest.mark.django_db
def test_sql_and_plain_python_agree_for_many_people_and_days():
    table = current_table()
    rng = random.Random(20260115)
    sexes = ["F", "M", "I"]
    people = []
    for _index in range(300):
        if rng.random() < 0.1:
            born = date(rng.choice([1948, 1952, 1960, 1976, 1980, 2000, 2008, 2020]), 2, 29)
        else:
            born = date(1925, 1, 1) + timedelta(days=rng.randrange(100 * 365))
        people.append(person(born=born, sex=rng.choice(sexes)))
    ids = [citizen.pk for citizen in people]
    for today in (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 1), date(2028, 2, 29), date(2027, 10, 15)):
        prevention_dates_refresh_range(first_id=min(ids), last_id=max(ids), today=today)
        stored: dict[int, dict] = {pk: {} for pk in ids}
        for row in PreventionDate.objects.filter(citizen_id__in=ids, status="pending"):
            stored[row.citizen_id][row.programme] = (row.occurrence, row.due_from, row.due_until)
        for citizen in people:
            assert stored[citizen.pk] == expected_key_dates(table, citizen.birth_date, citizen.sex, today), (
                citizen.birth_date,
                citizen.sex,
                today,
            )
