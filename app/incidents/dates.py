"""Onset windows from narrated date phrases: `resolve_onset("after Navruz 2016", interview_month="2019-05")`.

A narrator rarely gives a calendar date. Following the codebook (A.1, A.2, §5.4) every phrase becomes an
*onset window* `[onset_min, onset_max]` (both inclusive: the earliest and latest possible onset, UCDP logic),
a precision and a basis. The parser is deterministic, needs no database and knows English and Russian.

Precision (`OnsetWindow.precision`):
- `day`: one calendar day ("12 March 2016", "2016-03-12", "12.03.2016", "12 марта 2016");
- `month`: one calendar month ("March 2016", "03.2016", "2016-03", "в марте 2016 года", "a month ago");
- `season`: three meteorological months, northern hemisphere: spring = March-May, summer = June-August,
  autumn = September-November, winter = December-February. **"winter 2017" is December 2017 to February
  2018** (the winter that *starts* in the year named). Narrators sometimes mean January-February 2017; coders
  should check the context and correct the window by hand when the transcript says so;
- `year`: one calendar year ("2016", "в 2016 году", "last year", "two years ago");
- `range`: any other window: "between 2015 and 2017", "early 2016" (January-April; "mid" = May-August,
  "late" = September-December), and windows around anchors;
- `unknown`: nothing could be resolved; then `onset_min` and `onset_max` are None (see `UNKNOWN`).

Basis (`OnsetWindow.basis`): `explicit` (a calendar date in the phrase), `anchor` (a public event from the
anchors table), `relative` (counted back from the interview month), `unknown`. The codebook's `date_basis`
maps as explicit → `stated`, anchor → `anchored_public_event`, relative → `relative_to_interview`.

Relative phrases are resolved against the interview month (`YYYY-MM`, the month the interview took place):
- "last year", "в прошлом году" = the previous calendar year; "this year", "в этом году" = the interview's
  year; "the year before last", "в позапрошлом году" = two calendar years back;
- "N years ago", "N лет назад" = the calendar year N years before the interview's year (narrators count
  years by calendar year; "two years ago" said in May 2019 is 2017);
- "N months ago", "месяц назад", "last month", "в прошлом месяце" = that calendar month;
- "last winter", "прошлой зимой" = the most recent occurrence of that season that *ended before* the interview
  month ("last winter" said in May 2019 is December 2018 to February 2019; said in January 2019 it is
  December 2017 to February 2018);
- "this spring", "этой весной" = the occurrence containing the interview month, or else the most recent one
  that ended before it.
An onset cannot be later than the interview: relative windows are cut at the end of the interview month,
and a relative window wholly after it is unknown. Explicit dates are never cut (a date after the interview is
a transcription problem the coder must see, not hide).

Anchors (`AnchorRule`, `DEFAULT_ANCHORS`) are public events named in the phrase ("after Navruz 2016"):
- "after X" = [X, X + 3 calendar months] ("after Navruz 2016" = 2016-03-21 to 2016-06-21);
- "before X" = [X − 3 calendar months, X];
- "during / on / at / in X", or X alone = the event's own days.
For an event lasting several days (Ramadan) "after" counts from its last day and "before" from its first.
Three months is a convention, not a finding: narrators say "after" for anything from days to a season later.
The anchor's year is the 4-digit year in the phrase, or a relative year ("after Navruz last year"), or, for
an event that happened once (the April 2010 revolution), its only date. A recurring anchor without a year
("after Navruz") is unknown: the year must come from elsewhere in the interview, which this parser cannot see.
Dates of moving feasts (Eid al-Fitr, Eid al-Adha, Ramadan) are from astronomical tables and vary by a day
between countries and communities: these rules are `approximate` and their windows are widened by one day on
each side. Election dates are given per year as data. All default dates were compiled from general
knowledge and marked approximate where a day's uncertainty is known; verify before publishing day-level
results. Callers can pass their own table (`anchors=`), for example `{**DEFAULT_ANCHORS, "name": rule}`.

Ranges: "between 2015 and 2017", "from March 2015 to May 2016", "2015-2017", "с 2015 по 2017",
"между 2015 и 2017 годами" = [start of the first, end of the second], precision `range`. A first part
without a year takes the second part's year ("between March and May 2016"). A range running backwards is
unknown.

Limits: one phrase gives one window (the §5.4 rules for conflicting mentions are applied across mentions by
the caller); hedges ("I think", "примерно") neither narrow nor widen a window; slashed dates ("03/12/2016")
give only their year (day-month order is ambiguous); a month or season without any year ("in March") is
unknown; personal anchors (a child's birth, school start) need facts from elsewhere and are not resolved here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Literal, TypeAlias

Precision: TypeAlias = Literal["day", "month", "season", "year", "range", "unknown"]
Basis: TypeAlias = Literal["explicit", "anchor", "relative", "unknown"]

AFTER_MONTHS: Final = 3
"""How far "after X" reaches past X (and "before X" before it), in calendar months."""


@dataclass(frozen=True, slots=True)
class OnsetWindow:
    """Earliest and latest possible onset (inclusive), or both None when the precision is `unknown`."""

    onset_min: date | None
    onset_max: date | None
    precision: Precision
    basis: Basis

    def __post_init__(self) -> None:
        if (self.onset_min is None) != (self.onset_max is None):
            raise ValueError("onset_min and onset_max are both set or both None")
        if (self.onset_min is None) != (self.precision == "unknown"):
            raise ValueError("a window without dates has precision 'unknown', and only such a window")
        if self.onset_min is not None and self.onset_max is not None and self.onset_min > self.onset_max:
            raise ValueError("onset_min is after onset_max")

    @property
    def known(self) -> bool:
        """Whether the window has dates."""
        return self.onset_min is not None

    @property
    def edtf(self) -> str | None:
        """The window in EDTF (ISO 8601-2) form, such as `2016-03`, `2016` or `2016-03-21/2016-06-21`."""
        if self.onset_min is None or self.onset_max is None:
            return None
        lo, hi = self.onset_min, self.onset_max
        if lo == hi:
            return lo.isoformat()
        if lo.day == 1 and hi == _month_end(hi.year, hi.month):
            if lo.year == hi.year and lo.month == hi.month:
                return f"{lo.year:04d}-{lo.month:02d}"
            if lo.year == hi.year and lo.month == 1 and hi.month == 12:
                return f"{lo.year:04d}"
            return f"{lo.year:04d}-{lo.month:02d}/{hi.year:04d}-{hi.month:02d}"
        return f"{lo.isoformat()}/{hi.isoformat()}"


UNKNOWN: Final = OnsetWindow(None, None, "unknown", "unknown")


@dataclass(frozen=True, slots=True)
class AnchorRule:
    """A public event used as a date anchor.

    `aliases` are lower-case words or stems as they appear in phrases. Each word of an alias matches at a
    word start and may be followed by more letters, so stems cover inflected forms: "навруз" matches
    "навруза", "выбор президента узбекистана" matches "выборов президента Узбекистана".
    The event falls on `month_day` every year, or on the dates in `dates` (year -> first day), and lasts
    `length_days` days. An `approximate` rule's windows are widened by one day on each side.
    """

    aliases: tuple[str, ...]
    month_day: tuple[int, int] | None = None
    dates: Mapping[int, date] = field(default_factory=dict)
    length_days: int = 1
    approximate: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if not self.aliases or any(alias != alias.lower().strip() or not alias for alias in self.aliases):
            raise ValueError("an anchor needs non-empty lower-case aliases")
        if (self.month_day is None) == (not self.dates):
            raise ValueError("an anchor has either a fixed month_day or per-year dates")
        if self.length_days < 1:
            raise ValueError("an anchor lasts at least one day")

    def first_day(self, year: int | None) -> date | None:
        """The event's first day in `year` (None: the only date of a one-off event), or None if not known."""
        if year is None:
            if self.month_day is None and len(self.dates) == 1:
                return next(iter(self.dates.values()))
            return None
        if self.month_day is not None:
            month, day = self.month_day
            return date(year, month, day)
        return self.dates.get(year)


def _d(text: str) -> date:
    return date.fromisoformat(text)


# Eid al-Fitr (Ramazan Hayit / Ураза-байрам), first day; approximate (±1 day by country and moon sighting).
_EID_AL_FITR: Final[dict[int, date]] = {
    2010: _d("2010-09-10"),
    2011: _d("2011-08-30"),
    2012: _d("2012-08-19"),
    2013: _d("2013-08-08"),
    2014: _d("2014-07-28"),
    2015: _d("2015-07-17"),
    2016: _d("2016-07-06"),
    2017: _d("2017-06-25"),
    2018: _d("2018-06-15"),
    2019: _d("2019-06-04"),
    2020: _d("2020-05-24"),
    2021: _d("2021-05-13"),
    2022: _d("2022-05-02"),
    2023: _d("2023-04-21"),
    2024: _d("2024-04-10"),
    2025: _d("2025-03-30"),
    2026: _d("2026-03-20"),
}
# Eid al-Adha (Kurban Hayit / Курбан-байрам), first day; approximate (the codebook gives 11-12 Sep 2016).
_EID_AL_ADHA: Final[dict[int, date]] = {
    2010: _d("2010-11-16"),
    2011: _d("2011-11-06"),
    2012: _d("2012-10-26"),
    2013: _d("2013-10-15"),
    2014: _d("2014-10-04"),
    2015: _d("2015-09-24"),
    2016: _d("2016-09-12"),
    2017: _d("2017-09-01"),
    2018: _d("2018-08-21"),
    2019: _d("2019-08-11"),
    2020: _d("2020-07-31"),
    2021: _d("2021-07-20"),
    2022: _d("2022-07-09"),
    2023: _d("2023-06-28"),
    2024: _d("2024-06-16"),
    2025: _d("2025-06-06"),
    2026: _d("2026-05-27"),
}
# Ramadan: the 30 days before Eid al-Fitr (29 or 30 in fact; the approximate widening covers the difference).
_RAMADAN: Final[dict[int, date]] = {year: eid - timedelta(days=30) for year, eid in _EID_AL_FITR.items()}

DEFAULT_ANCHORS: Final[Mapping[str, AnchorRule]] = {
    "navruz": AnchorRule(
        ("navruz", "nowruz", "navroz", "nauryz", "norooz", "навруз", "наурыз", "нооруз"), (3, 21)
    ),
    "new_year": AnchorRule(
        ("new year", "новый год", "нового года", "новым годом", "новому году", "новогод"), (1, 1)
    ),
    "eid_al_fitr": AnchorRule(
        (
            "eid al-fitr",
            "eid al fitr",
            "eid ul-fitr",
            "ramazan hayit",
            "ramadan hayit",
            "ураза-байрам",
            "ураза байрам",
            "рамазан хайит",
            "орозо айт",
            "ораза айт",
        ),
        dates=_EID_AL_FITR,
        approximate=True,
        note="first day of Eid al-Fitr; approximate",
    ),
    "eid_al_adha": AnchorRule(
        (
            "eid al-adha",
            "eid al adha",
            "eid ul-adha",
            "kurban hayit",
            "qurbon hayit",
            "kurban bayram",
            "курбан-байрам",
            "курбан байрам",
            "курбан хайит",
            "курман айт",
            "курбан айт",
        ),
        dates=_EID_AL_ADHA,
        approximate=True,
        note="first day of Eid al-Adha; approximate",
    ),
    "ramadan": AnchorRule(
        ("ramadan", "ramazan", "рамадан", "рамазан", "уразы", "ураза"),
        dates=_RAMADAN,
        length_days=30,
        approximate=True,
        note="the month of fasting, taken as the 30 days before Eid al-Fitr; approximate",
    ),
    "independence_uz": AnchorRule(
        (
            "independence day of uzbekistan",
            "uzbek independence day",
            "uzbekistan's independence day",
            "день независимости узбекистана",
            "дня независимости узбекистана",
            "дню независимости узбекистана",
        ),
        (9, 1),
    ),
    "independence_tj": AnchorRule(
        (
            "independence day of tajikistan",
            "tajik independence day",
            "tajikistan's independence day",
            "день независимости таджикистана",
            "дня независимости таджикистана",
            "дню независимости таджикистана",
        ),
        (9, 9),
    ),
    "independence_kz": AnchorRule(
        (
            "independence day of kazakhstan",
            "kazakh independence day",
            "kazakhstan's independence day",
            "день независимости казахстана",
            "дня независимости казахстана",
            "дню независимости казахстана",
        ),
        (12, 16),
    ),
    "independence_kg": AnchorRule(
        (
            "independence day of kyrgyzstan",
            "kyrgyz independence day",
            "kyrgyzstan's independence day",
            "день независимости кыргызстана",
            "дня независимости кыргызстана",
            "дню независимости кыргызстана",
            "день независимости киргизии",
            "дня независимости киргизии",
            "дню независимости киргизии",
        ),
        (8, 31),
    ),
    "independence_tm": AnchorRule(
        (
            "independence day of turkmenistan",
            "turkmen independence day",
            "turkmenistan's independence day",
            "день независимости туркменистана",
            "дня независимости туркменистана",
            "дню независимости туркменистана",
        ),
        (9, 27),
    ),
    "election_uz": AnchorRule(
        (
            "uzbek presidential election",
            "presidential election in uzbekistan",
            "uzbekistan presidential election",
            "выбор президента узбекистана",
            "президентск выбор в узбекистане",
        ),
        dates={
            2007: _d("2007-12-23"),
            2015: _d("2015-03-29"),
            2016: _d("2016-12-04"),
            2021: _d("2021-10-24"),
            2023: _d("2023-07-09"),
        },
        note="presidential elections (polling day)",
    ),
    "election_kz": AnchorRule(
        (
            "kazakh presidential election",
            "presidential election in kazakhstan",
            "kazakhstan presidential election",
            "выбор президента казахстана",
            "президентск выбор в казахстане",
        ),
        dates={
            2011: _d("2011-04-03"),
            2015: _d("2015-04-26"),
            2019: _d("2019-06-09"),
            2022: _d("2022-11-20"),
        },
        note="presidential elections (polling day)",
    ),
    "election_kg": AnchorRule(
        (
            "kyrgyz presidential election",
            "presidential election in kyrgyzstan",
            "kyrgyzstan presidential election",
            "выбор президента кыргызстана",
            "президентск выбор в кыргызстане",
        ),
        dates={2011: _d("2011-10-30"), 2017: _d("2017-10-15"), 2021: _d("2021-01-10")},
        note="presidential elections (polling day)",
    ),
    "election_tj": AnchorRule(
        (
            "tajik presidential election",
            "presidential election in tajikistan",
            "tajikistan presidential election",
            "выбор президента таджикистана",
            "президентск выбор в таджикистане",
        ),
        dates={2013: _d("2013-11-06"), 2020: _d("2020-10-11")},
        note="presidential elections (polling day)",
    ),
    "election_tm": AnchorRule(
        (
            "turkmen presidential election",
            "presidential election in turkmenistan",
            "turkmenistan presidential election",
            "выбор президента туркменистана",
            "президентск выбор в туркменистане",
        ),
        dates={2012: _d("2012-02-12"), 2017: _d("2017-02-12"), 2022: _d("2022-03-12")},
        note="presidential elections (polling day)",
    ),
    "kg_revolution": AnchorRule(
        ("revolution", "революци"),
        dates={2005: _d("2005-03-24"), 2010: _d("2010-04-07"), 2020: _d("2020-10-05")},
        note="Kyrgyzstan's upheavals of March 2005, April 2010 and October 2020 (the year picks one)",
    ),
    "kg_tulip_revolution": AnchorRule(
        ("tulip revolution", "тюльпановой революци", "тюльпановая революци"), dates={2005: _d("2005-03-24")}
    ),
    "kg_april_revolution": AnchorRule(
        ("april revolution", "апрельской революци", "апрельская революци"), dates={2010: _d("2010-04-07")}
    ),
    "kz_covid_emergency": AnchorRule(
        (
            "covid state of emergency",
            "state of emergency",
            "чрезвычайного положения",
            "чрезвычайное положение",
        ),
        dates={2020: _d("2020-03-16")},
        note="Kazakhstan's COVID-19 state of emergency (codebook §5.4); other states' dates differ",
    ),
}
"""Generic public anchors (Central Asian holidays, elections, upheavals). Keys are names, not matched text."""


# ---- calendar helpers --------------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_window(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), _month_end(year, month)


def _year_window(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


SEASON_MONTHS: Final[Mapping[str, int]] = {"spring": 3, "summer": 6, "autumn": 9, "winter": 12}
"""The first month of each season; a season lasts three months (winter runs into the next year)."""


def _season_window(season: str, year: int) -> tuple[date, date]:
    start = date(year, SEASON_MONTHS[season], 1)
    last = _add_months(start, 2)
    return start, _month_end(last.year, last.month)


# ---- vocabulary --------------------------------------------------------------------------------------------

_MONTHS_EN: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_STEMS_RU: Final = (
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
)
_RU_MAY: Final = frozenset({"май", "мая", "мае", "маю", "маем"})


def _month_number(word: str) -> int | None:
    """1-12 for an English month name or abbreviation (3+ letters) or a Russian month in any case form."""
    word = word.lower().rstrip(".")
    if word in _RU_MAY:
        return 5
    if len(word) >= 3 and word.isascii():
        for number, name in enumerate(_MONTHS_EN, start=1):
            if name.startswith(word) or (word == "sept" and number == 9):
                return number
        return None
    for number, stem in enumerate(_MONTH_STEMS_RU, start=1):
        if stem != "ма" and word.startswith(stem) and len(word) - len(stem) <= 2:
            return number
    return None


_SEASON_WORDS: Final[Mapping[str, str]] = {
    "spring": "spring",
    "summer": "summer",
    "autumn": "autumn",
    "fall": "autumn",
    "winter": "winter",
    "весна": "spring",
    "весной": "spring",
    "весну": "spring",
    "весне": "spring",
    "весны": "spring",
    "лето": "summer",
    "летом": "summer",
    "лета": "summer",
    "лете": "summer",
    "осень": "autumn",
    "осенью": "autumn",
    "осени": "autumn",
    "зима": "winter",
    "зимой": "winter",
    "зиму": "winter",
    "зиме": "winter",
    "зимы": "winter",
}

_NUMBERS: Final[Mapping[str, int]] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "один": 1,
    "одну": 1,
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
    "одиннадцать": 11,
    "двенадцать": 12,
}

_YEAR = r"(?P<year>(?:19|20)\d{2})"
_W = r"[a-zа-яё]+"
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_W})\.?,?\s+{_YEAR}\b"
)
_MONTH_DAY_YEAR = re.compile(rf"\b(?P<mon>{_W})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b")
_MONTH_YEAR = re.compile(rf"\b(?P<mon>{_W})\.?,?\s+(?:of\s+)?{_YEAR}\b")
_ISO_DAY = re.compile(rf"\b{_YEAR}-(?P<month>\d{{2}})-(?P<day>\d{{2}})\b")
_ISO_MONTH = re.compile(rf"\b{_YEAR}-(?P<month>\d{{2}})\b(?!-)")
_DOT_DAY = re.compile(rf"\b(?P<day>\d{{1,2}})\.(?P<month>\d{{1,2}})\.{_YEAR}\b")
_DOT_MONTH = re.compile(rf"(?<![\d.])(?P<month>\d{{1,2}})\.{_YEAR}\b")
_SEASON_YEAR = re.compile(rf"\b(?P<season>{_W})\s+(?:of\s+)?{_YEAR}\b")
_PART_YEAR = re.compile(
    rf"\b(?P<part>early|mid|middle|late|beginning|start|end|начал[оае]|середин[аеуы]|кон[еёц]\w*)"
    rf"(?:\s+of)?(?:\s+the)?(?:-|\s+){_YEAR}\b"
)
_BARE_YEAR = re.compile(rf"(?<![\d.\-]){_YEAR}(?![\d\-])")
_ANY_YEAR = re.compile(rf"(?<!\d){_YEAR}(?!\d)")

_PARTS: Final[Mapping[str, tuple[int, int]]] = {"early": (1, 4), "mid": (5, 8), "late": (9, 12)}


def _part_name(word: str) -> str:
    if word in ("early", "beginning", "start") or word.startswith("начал"):
        return "early"
    if word in ("mid", "middle") or word.startswith("середин"):
        return "mid"
    return "late"


def _valid_day(year: int, month: int, day: int) -> date | None:
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day)


# ---- explicit dates ----------------------------------------------------------------------------------------


def _explicit(text: str) -> OnsetWindow | None:
    """The first explicit date in `text`, most precise form first; None if there is none."""
    for pattern in (_ISO_DAY, _DOT_DAY):
        for m in pattern.finditer(text):
            found = _valid_day(int(m["year"]), int(m["month"]), int(m["day"]))
            if found is not None:
                return OnsetWindow(found, found, "day", "explicit")
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        for m in pattern.finditer(text):
            month = _month_number(m["mon"])
            if month is None:
                continue
            found = _valid_day(int(m["year"]), month, int(m["day"]))
            if found is not None:
                return OnsetWindow(found, found, "day", "explicit")
    for pattern in (_ISO_MONTH, _DOT_MONTH):
        for m in pattern.finditer(text):
            month = int(m["month"])
            if 1 <= month <= 12:
                return OnsetWindow(*_month_window(int(m["year"]), month), "month", "explicit")
    for m in _MONTH_YEAR.finditer(text):
        month = _month_number(m["mon"])
        if month is not None:
            return OnsetWindow(*_month_window(int(m["year"]), month), "month", "explicit")
    for m in _SEASON_YEAR.finditer(text):
        season = _SEASON_WORDS.get(m["season"])
        if season is not None:
            return OnsetWindow(*_season_window(season, int(m["year"])), "season", "explicit")
    for m in _PART_YEAR.finditer(text):
        first, last = _PARTS[_part_name(m["part"])]
        year = int(m["year"])
        return OnsetWindow(date(year, first, 1), _month_end(year, last), "range", "explicit")
    for m in _BARE_YEAR.finditer(text):
        return OnsetWindow(*_year_window(int(m["year"])), "year", "explicit")
    return None


# ---- ranges ------------------------------------------------------------------------------------------------

_RANGE = re.compile(
    r"\b(?:between|from|между|с|со)\s+(?P<a>.+?)\s+(?:and|to|until|till|и|по|до)\s+(?P<b>.+)$"
    rf"|(?<!\d){_YEAR.replace('year', 'y1')}\s*[-–—]\s*{_YEAR.replace('year', 'y2')}(?!\d)"
)


def _range(text: str) -> OnsetWindow | None:
    m = _RANGE.search(text)
    if m is None:
        return None
    if m["y1"] is not None:
        first, second = _explicit(m["y1"]), _explicit(m["y2"])
    else:
        first, second = _explicit(m["a"]), _explicit(m["b"])
        if first is None and second is not None and second.onset_min is not None:
            first = _explicit(f"{m['a']} {second.onset_min.year}")  # "between March and May 2016"
    if first is None or second is None or first.onset_min is None or second.onset_max is None:
        return None
    if first.onset_min > second.onset_max:
        return UNKNOWN
    return OnsetWindow(first.onset_min, second.onset_max, "range", "explicit")


# ---- relative phrases --------------------------------------------------------------------------------------

_YEARS_AGO = re.compile(r"(?:\b(?P<n>[\wа-яё]+)\s+)?\b(?P<unit>years?|года?|лет)\s+(?:ago|назад)\b")
_MONTHS_AGO = re.compile(r"(?:\b(?P<n>[\wа-яё]+)\s+)?\b(?P<unit>months?|месяц[аев]*)\s+(?:ago|назад)\b")
_SINGULAR_UNITS: Final = frozenset({"year", "год", "month", "месяц"})
_LAST_YEAR = re.compile(r"\b(?:last year|the previous year|в прошлом году|прошлым годом|прошлого года)\b")
_YEAR_BEFORE_LAST = re.compile(r"\b(?:the year before last|в позапрошлом году|позапрошлого года)\b")
_THIS_YEAR = re.compile(r"\b(?:this year|earlier this year|в этом году|в текущем году|этого года)\b")
_LAST_MONTH = re.compile(r"\b(?:last month|the previous month|в прошлом месяце)\b")
_THIS_MONTH = re.compile(r"\b(?:this month|в этом месяце)\b")
_SEASON_REL = re.compile(rf"\b(?P<which>last|this|past|прошл\w*|эт\w*)\s+(?P<season>{_W})\b")


def _relative_year(text: str, interview: date) -> int | None:
    """The calendar year a relative phrase names ("last year", "two years ago"), or None."""
    if _YEAR_BEFORE_LAST.search(text):
        return interview.year - 2
    if _LAST_YEAR.search(text):
        return interview.year - 1
    if _THIS_YEAR.search(text):
        return interview.year
    m = _YEARS_AGO.search(text)
    if m is not None:
        n = _count(m)
        return None if n is None else interview.year - n
    return None


def _count(m: re.Match[str]) -> int | None:
    """How many units "N years/months ago" counts back: a number or number word, or 1 for a bare singular
    ("год назад"); None for a vague count ("a few years ago", "несколько лет назад")."""
    word = m["n"]
    if word is not None and word.isdigit() and len(word) <= 2:
        return int(word)
    if word is not None and word in _NUMBERS:
        return _NUMBERS[word]
    return 1 if m["unit"] in _SINGULAR_UNITS else None


def _cut(lo: date, hi: date, precision: Precision, interview_end: date) -> OnsetWindow:
    if lo > interview_end:
        return UNKNOWN
    return OnsetWindow(lo, min(hi, interview_end), precision, "relative")


def _relative(text: str, interview: date) -> OnsetWindow | None:
    end = _month_end(interview.year, interview.month)
    m = _SEASON_REL.search(text)
    if m is not None and m["season"] in _SEASON_WORDS:
        season = _SEASON_WORDS[m["season"]]
        which = "this" if m["which"] == "this" or m["which"].startswith("эт") else "last"
        # Occurrences by their starting year, newest first: the one containing the interview month (if any),
        # then those that ended before it.
        for year in range(interview.year, interview.year - 3, -1):
            lo, hi = _season_window(season, year)
            if which == "this" and lo <= interview <= hi:
                return _cut(lo, hi, "season", end)
            if hi < interview:
                return _cut(lo, hi, "season", end)
    if _LAST_MONTH.search(text):
        previous = _add_months(interview, -1)
        return _cut(*_month_window(previous.year, previous.month), "month", end)
    if _THIS_MONTH.search(text):
        return _cut(*_month_window(interview.year, interview.month), "month", end)
    m = _MONTHS_AGO.search(text)
    if m is not None:
        n = _count(m)
        if n is None:
            return None
        then = _add_months(interview, -n)
        return _cut(*_month_window(then.year, then.month), "month", end)
    relative_year = _relative_year(text, interview)
    if relative_year is not None:
        return _cut(*_year_window(relative_year), "year", end)
    return None


# ---- anchors -----------------------------------------------------------------------------------------------

_AFTER = re.compile(r"\b(?:after|following|после)\b")
_BEFORE = re.compile(r"\b(?:before|prior to|ahead of|перед|до|накануне)\b")


def _alias_pattern(alias: str) -> re.Pattern[str]:
    words = [re.escape(word) + r"\w*" for word in re.split(r"[\s\-]+", alias)]
    return re.compile(r"(?<!\w)" + r"[\s\-]+".join(words))


def _anchor(text: str, interview: date, anchors: Mapping[str, AnchorRule]) -> OnsetWindow | None:
    best: tuple[int, int, AnchorRule] | None = None  # (alias length, position, rule)
    for name in sorted(anchors):
        rule = anchors[name]
        for alias in rule.aliases:
            m = _alias_pattern(alias).search(text)
            if m is not None and (best is None or len(alias) > best[0]):
                best = (len(alias), m.start(), rule)
    if best is None:
        return None
    _length, position, rule = best
    years = [int(m["year"]) for m in _ANY_YEAR.finditer(text)]
    year = years[0] if years else _relative_year(text, interview)
    first = rule.first_day(year)
    if first is None:
        return UNKNOWN
    last = first + timedelta(days=rule.length_days - 1)
    before_anchor = text[:position]
    if _AFTER.search(before_anchor):
        lo, hi = last, _add_months(last, AFTER_MONTHS)
    elif _BEFORE.search(before_anchor):
        lo, hi = _add_months(first, -AFTER_MONTHS), first
    else:
        lo, hi = first, last
    if rule.approximate:
        lo, hi = lo - timedelta(days=1), hi + timedelta(days=1)
    return OnsetWindow(lo, hi, "day" if lo == hi else "range", "anchor")


# ---- entry point -------------------------------------------------------------------------------------------

_INTERVIEW_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_interview_month(interview_month: str) -> date:
    """The first day of a `YYYY-MM` interview month; ValueError if malformed."""
    m = _INTERVIEW_MONTH.match(interview_month)
    if m is None or not 1 <= int(m[2]) <= 12:
        raise ValueError(f"interview month must be YYYY-MM, not {interview_month!r}")
    return date(int(m[1]), int(m[2]), 1)


def _normalise(phrase: str) -> str:
    text = phrase.lower().replace("ё", "е").replace("\u00a0", " ")
    text = re.sub(r"(\d{4})\s*г(?:ода|оду|од|г)?\.?(?=\s|$|[,;)])", r"\1", text)  # "2016 г." / "2016 году"
    text = re.sub(r"[\"«»“”()]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def resolve_onset(
    phrase: str, *, interview_month: str, anchors: Mapping[str, AnchorRule] | None = None
) -> OnsetWindow:
    """The onset window a narrated date phrase supports (see the module docstring for every rule).

    Tried in order: a range, an anchored event, a relative phrase, an explicit date. `UNKNOWN` when nothing
    applies. `interview_month` is `YYYY-MM`; `anchors` defaults to `DEFAULT_ANCHORS`.
    """
    interview = parse_interview_month(interview_month)
    text = _normalise(phrase)
    if not text:
        return UNKNOWN
    for attempt in (
        _range(text),
        _anchor(text, interview, DEFAULT_ANCHORS if anchors is None else anchors),
        _relative(text, interview),
        _explicit(text),
    ):
        if attempt is not None:
            return attempt
    return UNKNOWN
