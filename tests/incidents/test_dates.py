"""Onset windows from narrated date phrases, in English and Russian, against hand-resolved windows."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.incidents.dates import (
    DEFAULT_ANCHORS,
    UNKNOWN,
    AnchorRule,
    OnsetWindow,
    parse_interview_month,
    resolve_onset,
)

INTERVIEW = "2019-05"


def _w(lo: str, hi: str, precision: str, basis: str) -> tuple[date, date, str, str]:
    return date.fromisoformat(lo), date.fromisoformat(hi), precision, basis


def _resolved(phrase: str, interview_month: str = INTERVIEW) -> tuple[date | None, date | None, str, str]:
    window = resolve_onset(phrase, interview_month=interview_month)
    return window.onset_min, window.onset_max, window.precision, window.basis


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("12 March 2016", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("on the 12th of March 2016", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("March 12, 2016", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("2016-03-12", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("12.03.2016", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("12 марта 2016 г.", _w("2016-03-12", "2016-03-12", "day", "explicit")),
        ("1 сентября 2017 года", _w("2017-09-01", "2017-09-01", "day", "explicit")),
        ("March 2016", _w("2016-03-01", "2016-03-31", "month", "explicit")),
        ("in Feb 2016", _w("2016-02-01", "2016-02-29", "month", "explicit")),
        ("Sept. 2015", _w("2015-09-01", "2015-09-30", "month", "explicit")),
        ("03.2016", _w("2016-03-01", "2016-03-31", "month", "explicit")),
        ("2016-03", _w("2016-03-01", "2016-03-31", "month", "explicit")),
        ("в марте 2016", _w("2016-03-01", "2016-03-31", "month", "explicit")),
        ("в марте 2016 года", _w("2016-03-01", "2016-03-31", "month", "explicit")),
        ("в мае 2016", _w("2016-05-01", "2016-05-31", "month", "explicit")),
        ("в декабре 2014-го", _w("2014-12-01", "2014-12-31", "month", "explicit")),
        ("2016", _w("2016-01-01", "2016-12-31", "year", "explicit")),
        ("in 2016, I think", _w("2016-01-01", "2016-12-31", "year", "explicit")),
        ("в 2016 году", _w("2016-01-01", "2016-12-31", "year", "explicit")),
        ("spring 2018", _w("2018-03-01", "2018-05-31", "season", "explicit")),
        ("in the summer of 2016", _w("2016-06-01", "2016-08-31", "season", "explicit")),
        ("autumn 2015", _w("2015-09-01", "2015-11-30", "season", "explicit")),
        ("fall 2015", _w("2015-09-01", "2015-11-30", "season", "explicit")),
        ("winter 2017", _w("2017-12-01", "2018-02-28", "season", "explicit")),
        ("весной 2018", _w("2018-03-01", "2018-05-31", "season", "explicit")),
        ("летом 2016 года", _w("2016-06-01", "2016-08-31", "season", "explicit")),
        ("осенью 2015", _w("2015-09-01", "2015-11-30", "season", "explicit")),
        ("зимой 2015", _w("2015-12-01", "2016-02-29", "season", "explicit")),
        ("early 2016", _w("2016-01-01", "2016-04-30", "range", "explicit")),
        ("mid-2016", _w("2016-05-01", "2016-08-31", "range", "explicit")),
        ("at the end of 2016", _w("2016-09-01", "2016-12-31", "range", "explicit")),
        ("в начале 2016 года", _w("2016-01-01", "2016-04-30", "range", "explicit")),
        ("в конце 2016", _w("2016-09-01", "2016-12-31", "range", "explicit")),
    ],
)
def test_explicit_dates(phrase: str, expected: tuple[date, date, str, str]) -> None:
    assert _resolved(phrase) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("between 2015 and 2017", _w("2015-01-01", "2017-12-31", "range", "explicit")),
        ("from March 2015 to May 2016", _w("2015-03-01", "2016-05-31", "range", "explicit")),
        ("between March and May 2016", _w("2016-03-01", "2016-05-31", "range", "explicit")),
        ("2015-2017", _w("2015-01-01", "2017-12-31", "range", "explicit")),
        ("2015 – 2017", _w("2015-01-01", "2017-12-31", "range", "explicit")),
        ("между 2015 и 2017 годами", _w("2015-01-01", "2017-12-31", "range", "explicit")),
        ("с 2015 по 2017", _w("2015-01-01", "2017-12-31", "range", "explicit")),
        ("с марта 2015 по май 2016", _w("2015-03-01", "2016-05-31", "range", "explicit")),
    ],
)
def test_ranges(phrase: str, expected: tuple[date, date, str, str]) -> None:
    assert _resolved(phrase) == expected


def test_a_backward_range_is_unknown() -> None:
    assert resolve_onset("between 2017 and 2015", interview_month=INTERVIEW) == UNKNOWN


@pytest.mark.parametrize(
    ("phrase", "interview_month", "expected"),
    [
        ("last year", "2019-05", _w("2018-01-01", "2018-12-31", "year", "relative")),
        ("в прошлом году", "2019-05", _w("2018-01-01", "2018-12-31", "year", "relative")),
        ("the year before last", "2019-05", _w("2017-01-01", "2017-12-31", "year", "relative")),
        ("в позапрошлом году", "2019-05", _w("2017-01-01", "2017-12-31", "year", "relative")),
        ("this year", "2019-05", _w("2019-01-01", "2019-05-31", "year", "relative")),
        ("в этом году", "2019-05", _w("2019-01-01", "2019-05-31", "year", "relative")),
        ("two years ago", "2019-05", _w("2017-01-01", "2017-12-31", "year", "relative")),
        ("3 years ago", "2019-05", _w("2016-01-01", "2016-12-31", "year", "relative")),
        ("a year ago", "2019-05", _w("2018-01-01", "2018-12-31", "year", "relative")),
        ("год назад", "2019-05", _w("2018-01-01", "2018-12-31", "year", "relative")),
        ("два года назад", "2019-05", _w("2017-01-01", "2017-12-31", "year", "relative")),
        ("5 лет назад", "2019-05", _w("2014-01-01", "2014-12-31", "year", "relative")),
        ("a month ago", "2019-05", _w("2019-04-01", "2019-04-30", "month", "relative")),
        ("three months ago", "2019-01", _w("2018-10-01", "2018-10-31", "month", "relative")),
        ("месяц назад", "2019-03", _w("2019-02-01", "2019-02-28", "month", "relative")),
        ("last month", "2019-01", _w("2018-12-01", "2018-12-31", "month", "relative")),
        ("в прошлом месяце", "2019-05", _w("2019-04-01", "2019-04-30", "month", "relative")),
        ("last winter", "2019-05", _w("2018-12-01", "2019-02-28", "season", "relative")),
        ("last winter", "2019-01", _w("2017-12-01", "2018-02-28", "season", "relative")),
        ("прошлой зимой", "2019-05", _w("2018-12-01", "2019-02-28", "season", "relative")),
        ("last summer", "2019-05", _w("2018-06-01", "2018-08-31", "season", "relative")),
        ("прошлым летом", "2019-10", _w("2019-06-01", "2019-08-31", "season", "relative")),
        ("this spring", "2019-05", _w("2019-03-01", "2019-05-31", "season", "relative")),
        ("this spring", "2019-04", _w("2019-03-01", "2019-04-30", "season", "relative")),
        ("этой весной", "2019-10", _w("2019-03-01", "2019-05-31", "season", "relative")),
        ("this winter", "2019-12", _w("2019-12-01", "2019-12-31", "season", "relative")),
    ],
)
def test_relative_phrases(phrase: str, interview_month: str, expected: tuple[date, date, str, str]) -> None:
    assert _resolved(phrase, interview_month) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("after Navruz 2016", _w("2016-03-21", "2016-06-21", "range", "anchor")),
        ("после Навруза 2016 года", _w("2016-03-21", "2016-06-21", "range", "anchor")),
        ("before Navruz 2016", _w("2015-12-21", "2016-03-21", "range", "anchor")),
        ("на Навруз 2016", _w("2016-03-21", "2016-03-21", "day", "anchor")),
        ("Nowruz 2016", _w("2016-03-21", "2016-03-21", "day", "anchor")),
        ("after Navruz last year", _w("2018-03-21", "2018-06-21", "range", "anchor")),
        ("before New Year 2017", _w("2016-10-01", "2017-01-01", "range", "anchor")),
        ("перед Новым годом 2017", _w("2016-10-01", "2017-01-01", "range", "anchor")),
        # moving feasts are approximate: widened by one day each side
        ("during Ramadan 2016", _w("2016-06-05", "2016-07-06", "range", "anchor")),
        ("after Eid al-Adha 2016", _w("2016-09-11", "2016-12-13", "range", "anchor")),
        ("после Курбан-байрама 2016", _w("2016-09-11", "2016-12-13", "range", "anchor")),
        ("on Eid al-Fitr 2018", _w("2018-06-14", "2018-06-16", "range", "anchor")),
        ("после Ураза-байрама 2018", _w("2018-06-14", "2018-09-16", "range", "anchor")),
        ("after Independence Day of Uzbekistan 2015", _w("2015-09-01", "2015-12-01", "range", "anchor")),
        ("before the Tajik independence day in 2014", _w("2014-06-09", "2014-09-09", "range", "anchor")),
        ("после Дня независимости Казахстана 2011", _w("2011-12-16", "2012-03-16", "range", "anchor")),
        ("after the Uzbek presidential election 2016", _w("2016-12-04", "2017-03-04", "range", "anchor")),
        (
            "после выборов президента Узбекистана в 2016 году",
            _w("2016-12-04", "2017-03-04", "range", "anchor"),
        ),
        (
            "перед президентскими выборами в Казахстане 2019",
            _w("2019-03-09", "2019-06-09", "range", "anchor"),
        ),
        ("after the April revolution", _w("2010-04-07", "2010-07-07", "range", "anchor")),
        ("после революции 2020 года", _w("2020-10-05", "2021-01-05", "range", "anchor")),
        ("after the state of emergency", _w("2020-03-16", "2020-06-16", "range", "anchor")),
    ],
)
def test_anchored_events(phrase: str, expected: tuple[date, date, str, str]) -> None:
    assert _resolved(phrase) == expected


@pytest.mark.parametrize(
    "phrase",
    [
        "",
        "I don't remember",
        "не помню",
        "after Navruz",  # a recurring anchor needs a year
        "after the revolution",  # three revolutions: the year picks one
        "during Ramadan 2031",  # outside the table
        "a few years ago",
        "несколько лет назад",
        "in March",
        "в марте",
    ],
)
def test_unknown_phrases(phrase: str) -> None:
    window = resolve_onset(phrase, interview_month=INTERVIEW)
    assert window == UNKNOWN
    assert window.onset_min is None
    assert window.onset_max is None
    assert window.precision == "unknown"
    assert window.edtf is None


def test_slashed_dates_give_only_their_year() -> None:
    # 03/12/2016 is 3 December or 12 March depending on the narrator's habit: only the year is certain
    assert _resolved("03/12/2016") == _w("2016-01-01", "2016-12-31", "year", "explicit")


def test_relative_windows_never_pass_the_interview() -> None:
    window = resolve_onset("this year", interview_month="2019-02")
    assert window.onset_max == date(2019, 2, 28)


def test_explicit_dates_after_the_interview_are_kept_for_the_coder_to_see() -> None:
    window = resolve_onset("March 2021", interview_month=INTERVIEW)
    assert (window.onset_min, window.precision) == (date(2021, 3, 1), "month")


def test_custom_anchor_table() -> None:
    anchors = {
        **DEFAULT_ANCHORS,
        "flood": AnchorRule(("the flood", "наводнени"), dates={2012: date(2012, 7, 6)}),
        "harvest": AnchorRule(("cotton harvest",), (9, 15), length_days=45),
    }
    assert _window("after the flood", anchors) == (date(2012, 7, 6), date(2012, 10, 6), "range", "anchor")
    assert _window("после наводнения", anchors) == (date(2012, 7, 6), date(2012, 10, 6), "range", "anchor")
    # "after" counts from the last day of a multi-day event, "during" covers it
    assert _window("after the cotton harvest 2015", anchors)[:2] == (date(2015, 10, 29), date(2016, 1, 29))
    assert _window("during the cotton harvest 2015", anchors)[:2] == (date(2015, 9, 15), date(2015, 10, 29))
    # an empty table disables anchors: the year alone is left
    assert _window("after Navruz 2016", {}) == (date(2016, 1, 1), date(2016, 12, 31), "year", "explicit")


def _window(phrase: str, anchors: dict[str, AnchorRule]) -> tuple[date | None, date | None, str, str]:
    w = resolve_onset(phrase, interview_month=INTERVIEW, anchors=anchors)
    return w.onset_min, w.onset_max, w.precision, w.basis


def test_the_longest_alias_wins() -> None:
    # "ураза" (Ramadan) is inside "ураза-байрам" (Eid al-Fitr): the feast, not the month, is meant
    assert _resolved("на Ураза-байрам 2018")[:2] == (date(2018, 6, 14), date(2018, 6, 16))


def test_edtf() -> None:
    assert resolve_onset("12 March 2016", interview_month=INTERVIEW).edtf == "2016-03-12"
    assert resolve_onset("March 2016", interview_month=INTERVIEW).edtf == "2016-03"
    assert resolve_onset("2016", interview_month=INTERVIEW).edtf == "2016"
    assert resolve_onset("winter 2017", interview_month=INTERVIEW).edtf == "2017-12/2018-02"
    assert resolve_onset("after Navruz 2016", interview_month=INTERVIEW).edtf == "2016-03-21/2016-06-21"


@pytest.mark.parametrize("bad", ["2019", "2019-13", "19-05", "2019-5", "May 2019", ""])
def test_a_malformed_interview_month_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_interview_month(bad)
    with pytest.raises(ValueError, match="YYYY-MM"):
        resolve_onset("2016", interview_month=bad)


def test_window_invariants_are_enforced() -> None:
    with pytest.raises(ValueError, match="both"):
        OnsetWindow(date(2016, 1, 1), None, "day", "explicit")
    with pytest.raises(ValueError, match="unknown"):
        OnsetWindow(None, None, "day", "unknown")
    with pytest.raises(ValueError, match="after"):
        OnsetWindow(date(2016, 2, 1), date(2016, 1, 1), "range", "explicit")


def test_anchor_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        AnchorRule(("Navruz",), (3, 21))
    with pytest.raises(ValueError, match="either"):
        AnchorRule(("x",))
    with pytest.raises(ValueError, match="at least one day"):
        AnchorRule(("x",), (1, 1), length_days=0)


def test_default_moving_feasts_cover_2010_to_2026() -> None:
    for name in ("eid_al_fitr", "eid_al_adha", "ramadan"):
        rule = DEFAULT_ANCHORS[name]
        assert rule.approximate
        assert all(rule.first_day(year) is not None for year in range(2010, 2027))
    # Eid al-Fitr moves about 11 days earlier each year
    fitr = DEFAULT_ANCHORS["eid_al_fitr"]
    for year in range(2011, 2027):
        this, before = fitr.first_day(year), fitr.first_day(year - 1)
        assert this is not None
        assert before is not None
        assert 9 <= (before - this.replace(year=year - 1)).days <= 13


@given(
    year=st.integers(min_value=1990, max_value=2030),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=28),
)
def test_explicit_forms_agree(year: int, month: int, day: int) -> None:
    iso = resolve_onset(f"{year:04d}-{month:02d}-{day:02d}", interview_month="2031-01")
    dotted = resolve_onset(f"{day:02d}.{month:02d}.{year}", interview_month="2031-01")
    expected = date(year, month, day)
    assert iso == dotted == OnsetWindow(expected, expected, "day", "explicit")
    month_only = resolve_onset(f"{month:02d}.{year}", interview_month="2031-01")
    assert month_only.onset_min == date(year, month, 1)
    assert month_only.precision == "month"


@given(
    phrase=st.text(max_size=60),
    interview=st.tuples(st.integers(min_value=2000, max_value=2030), st.integers(min_value=1, max_value=12)),
)
def test_any_text_gives_a_valid_window(phrase: str, interview: tuple[int, int]) -> None:
    window = resolve_onset(phrase, interview_month=f"{interview[0]:04d}-{interview[1]:02d}")
    assert (window.onset_min is None) == (window.precision == "unknown")
    if window.onset_min is not None and window.onset_max is not None:
        assert window.onset_min <= window.onset_max
