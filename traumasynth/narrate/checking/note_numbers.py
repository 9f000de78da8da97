"""What a note states in figures: numbers (with their unit), dates, clock times and codes such as "C5".

Only the text is read here; ``unsupported`` compares what is found with the row. Number words
("eighteen hours", "forty-two-year-old") are read as digits first (``facts.numbers_as_digits``).
An ordinal ("2nd", "3rd-degree") is a rank, not a quantity, and is not read.

Units are those of measurements and durations a note writes after a number; a unit belongs to a
family (time, mass, length, ...) and has a factor to the family's base unit (hours, kg, cm), so
"2.5 days" can be compared with a column in hours. "-year-old" and "-month-old" are durations
that state an age.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from traumasynth.narrate.checking.facts import numbers_as_digits


@dataclass(frozen=True)
class Unit:
    """A unit: its family (what it measures) and its factor to the family's base unit."""

    family: str
    factor: float = 1.0


_HOUR = 1.0
_DAY = 24.0
_YEAR = 365.25 * _DAY
#: Unit words a note writes after a number, by family. Longer forms first in the regex.
UNITS: dict[str, Unit] = {
    **{w: Unit("time", 1 / 3600) for w in ("second", "seconds", "sec", "secs")},
    **{w: Unit("time", 1 / 60) for w in ("minute", "minutes", "min", "mins")},
    **{w: Unit("time", _HOUR) for w in ("hour", "hours", "hr", "hrs", "h")},
    **{w: Unit("time", _DAY) for w in ("day", "days")},
    **{w: Unit("time", 7 * _DAY) for w in ("week", "weeks", "wk", "wks")},
    **{w: Unit("time", _YEAR / 12) for w in ("month", "months", "month-old", "months-old")},
    **{w: Unit("time", _YEAR) for w in ("year", "years", "yr", "yrs", "year-old", "years-old", "yo", "y/o")},
    **{w: Unit("mass", 1.0) for w in ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms")},
    **{w: Unit("mass", 0.001) for w in ("g", "gram", "grams")},
    **{w: Unit("mass", 0.45359237) for w in ("lb", "lbs", "pound", "pounds")},
    **{w: Unit("length", 1.0) for w in ("cm", "centimetre", "centimetres", "centimeter", "centimeters")},
    **{w: Unit("length", 0.1) for w in ("mm", "millimetre", "millimetres")},
    # not "m": "72 M" is a 72-year-old man
    **{w: Unit("length", 100.0) for w in ("metre", "metres", "meter", "meters")},
    **{w: Unit("pressure") for w in ("mmhg", "mm hg")},
    **{w: Unit("percent") for w in ("%", "percent", "per cent")},
    **{w: Unit("temperature") for w in ("°c", "° c", "degrees", "degrees c", "degrees celsius", "celsius")},
    **{w: Unit("beats") for w in ("bpm", "beats/min", "beats per minute", "beats a minute")},
    **{w: Unit("breaths") for w in ("breaths/min", "breaths per minute", "breaths a minute", "/min")},
    **{w: Unit("points") for w in ("point", "points")},
    **{w: Unit("units") for w in ("unit", "units")},
    **{w: Unit("volume") for w in ("ml", "millilitres", "litre", "litres", "liter", "liters")},
    **{w: Unit("dose") for w in ("mg", "milligrams", "mcg", "µg")},
}
_UNIT_RE = "|".join(re.escape(u).replace(r"\ ", r"\s?") for u in sorted(UNITS, key=lambda u: (-len(u), u)))
_ORDINAL = r"(?:st|nd|rd|th)\b"
#: A number: "1,000", "60.8", "72"; not inside a word ("SpO2") or a longer number.
NUMBER = re.compile(
    rf"(?<![\w.-])(?<!\d,)(?P<whole>\d{{1,3}}(?:,\d{{3}})+(?![\d.])|\d+)(?:\.(?P<frac>\d+))?(?!\d)(?!{_ORDINAL})"
    rf"(?:\s?-?\s?(?P<unit>{_UNIT_RE})(?![\w%]))?",
    re.IGNORECASE,
)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m
}
_MONTH = r"(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATES = (
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d?)-(?P<day>\d\d?)(?:[T ](?P<hour>\d\d?):(?P<minute>\d\d))?\b"),
    re.compile(r"\b(?P<a>\d\d?)[/.](?P<b>\d\d?)[/.](?P<year>(?:19|20)?\d\d)\b"),
    re.compile(rf"\b(?P<day>\d\d?)(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d\d?)(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b{_MONTH},?\s+(?P<year>(?:19|20)\d\d)\b", re.I),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d\d?)(?:st|nd|rd|th)?\b", re.I),
    re.compile(rf"\b(?P<day>\d\d?)(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b", re.I),
)
_TIMES = (
    re.compile(r"\b(?P<hour>[01]?\d|2[0-3])[:h](?P<minute>[0-5]\d)\s?(?P<half>[ap]\.?m\.?)?(?!\w)", re.I),
    re.compile(r"\b(?P<hour>1[0-2]|0?[1-9])\s?(?P<half>[ap]\.?m\.?)(?!\w)", re.I),
)
#: A code: one or two letters and one or two digits, alone ("C5", "T12", "L4").
CODE = re.compile(r"(?<!\w)(?P<code>[A-Za-z]{1,2}\d{1,2})(?!\w)")


@dataclass(frozen=True)
class StatedNumber:
    """A number of the note, as written: ``18 hours`` -> value 18, decimals 0, unit hours."""

    text: str
    value: float
    decimals: int
    unit: Unit | None
    start: int
    end: int

    @property
    def is_age(self) -> bool:
        """Whether the unit says an age: "72-year-old", "18-month-old", "46 y/o", "34 yo"."""
        said = self.text.lower()
        return self.unit is not None and ("old" in said or said.endswith(("yo", "y/o")))


@dataclass(frozen=True)
class StatedDate:
    """A date of the note; ``readings`` holds (year, month, day) with None for a part not written.

    A numeric date such as 03/04/2019 has two readings (day first and month first).
    """

    text: str
    readings: tuple[tuple[int | None, int, int | None], ...]
    time: tuple[int, int] | None = None


@dataclass(frozen=True)
class StatedTime:
    """A clock time of the note (24-hour)."""

    text: str
    hour: int
    minute: int


@dataclass(frozen=True)
class NoteFigures:
    """Everything a note states in figures; ``text`` is the note with number words as digits."""

    text: str
    numbers: tuple[StatedNumber, ...]
    dates: tuple[StatedDate, ...]
    times: tuple[StatedTime, ...]
    codes: tuple[str, ...]


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    return int(text) + (2000 if len(text) == 2 else 0)


def _date(m: re.Match[str]) -> StatedDate | None:
    parts = m.groupdict()
    year = _year(parts.get("year"))
    if parts.get("a") is not None:  # 03/04/2019: day first or month first
        a, b = int(parts["a"]), int(parts["b"])
        readings = tuple((year, mo, d) for d, mo in ((a, b), (b, a)) if 1 <= mo <= 12 and 1 <= d <= 31)
        return StatedDate(m.group(0), readings) if readings else None
    month = _MONTHS[parts["month_name"].lower()] if parts.get("month_name") else int(parts["month"])
    day = int(parts["day"]) if parts.get("day") else None
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        # "2018-05-32": a date no calendar has is a date the row cannot hold (no reading matches);
        # read as numbers, only "2018" would be seen
        return StatedDate(m.group(0), ())
    time = (int(parts["hour"]), int(parts["minute"])) if parts.get("hour") else None
    return StatedDate(m.group(0), ((year, month, day),), time)


def _clock(m: re.Match[str]) -> StatedTime:
    hour = int(m["hour"])
    half = (m["half"] or "").lower().replace(".", "")
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    return StatedTime(m.group(0), hour, int(m.groupdict().get("minute") or 0))


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def read_figures(note: str) -> NoteFigures:
    """The numbers, dates, clock times and codes that ``note`` states (dates and times first: their
    digits are not read again as numbers, nor a code's)."""
    text = numbers_as_digits(note)
    taken: list[tuple[int, int]] = []
    dates: list[StatedDate] = []
    for pattern in _DATES:
        for m in pattern.finditer(text):
            if _free(taken, *m.span()) and (found := _date(m)) is not None:
                dates.append(found)
                taken.append(m.span())
    times: list[StatedTime] = []
    for pattern in _TIMES:
        for m in pattern.finditer(text):
            if _free(taken, *m.span()):
                times.append(_clock(m))
                taken.append(m.span())
    codes: list[str] = []
    for m in CODE.finditer(text):
        if _free(taken, *m.span()):
            codes.append(m["code"].upper())
            taken.append(m.span())
    numbers: list[StatedNumber] = []
    for m in NUMBER.finditer(text):
        if not _free(taken, *m.span()):
            continue
        frac = m["frac"] or ""
        value = float(m["whole"].replace(",", "") + ("." + frac if frac else ""))
        unit = UNITS.get(re.sub(r"\s+", " ", m["unit"].lower())) if m["unit"] else None
        numbers.append(StatedNumber(m.group(0).strip(), value, len(frac), unit, m.start(), m.end()))
    return NoteFigures(text, tuple(numbers), tuple(dates), tuple(times), tuple(codes))


def parse_unit(unit: str | None) -> Unit | None:
    """The ``Unit`` of a spec's unit text ("hours", "kg", "°C"), or None when it is none of ``UNITS``."""
    if not unit:
        return None
    return UNITS.get(re.sub(r"\s+", " ", unit.strip().lower()))
