"""Slot fillers: f(ctx, role) -> [(token, label)]. The role (after ":" in a
template placeholder) picks the label family, e.g. {city:to} -> toloc.city_name."""

from .labels import span, words
from .vocabulary import (
    AIRCRAFT, AIRLINE_CODES, AIRLINES, AIRPORT_CODES, AIRPORTS, CLASSES, COST_SUPERLATIVES,
    DAY_NAMES, FARE_RELATIVES, FLIGHT_MODS, LOC, MEAL_DESCRIPTIONS, MONTHS, ORDINAL_WORDS,
    PERIODS, ROUND_TRIPS, SHARED_CITIES, STATE_CITIES, TEST_ONLY_CITIES, TIME_RELATIVES, YEARS,
)


class Context:
    """State for generating one sentence: the split's rng and the cities already used,
    so that a sentence never flies from a city to the same city."""

    def __init__(self, rng, unseen_city_rate):
        self.rng = rng
        self.unseen_city_rate = unseen_city_rate
        self.used_cities = set()  # membership tests only, never iterated

    def city(self):
        while True:
            pool = TEST_ONLY_CITIES if self.rng.random() < self.unseen_city_rate else SHARED_CITIES
            name = self.rng.choice(pool)
            if name not in self.used_cities:
                self.used_cities.add(name)
                return name

    def state_city(self):
        while True:
            name, code = self.rng.choice(STATE_CITIES)
            if name not in self.used_cities:
                self.used_cities.add(name)
                return name, code


def fill_city(ctx, role):
    return span(ctx.city(), LOC[role] + ".city_name")


def fill_loc(ctx, role):
    """A departure/arrival location: mostly a city, sometimes with a state code, an airport
    or its code."""
    r = ctx.rng.random()
    if r < 0.80:
        return fill_city(ctx, role)
    if r < 0.88:
        name, code = ctx.state_city()
        return span(name, LOC[role] + ".city_name") + span(code, LOC[role] + ".state_code")
    if r < 0.95:
        return span(ctx.rng.choice(AIRPORTS), LOC[role] + ".airport_name")
    return span(ctx.rng.choice(AIRPORT_CODES), LOC[role] + ".airport_code")


def day_number(rng, days, slot, digits_allowed=True):
    d = rng.randint(1, days)
    style = rng.randrange(3 if digits_allowed else 2)
    if style == 0:
        text = ORDINAL_WORDS[d - 1]  # "twenty first" is a two-token span
    elif style == 1:
        suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
        text = f"{d}{suffix}"
    else:
        text = str(d)
    return span(text, slot)


def fill_date(ctx, role, bare=False):
    """A date phrase; `bare` drops the leading "on" for sentence-initial use."""
    rng = ctx.rng
    p = role + "_date"
    on = [] if bare else words("on")
    month, days = rng.choice(MONTHS)
    day_name = span(rng.choice(DAY_NAMES), p + ".day_name")
    form = rng.randrange(9 if role == "depart" else 8)
    if form <= 1:
        out = on + day_name
    elif form == 2:
        out = on + span(month, p + ".month_name") + day_number(rng, days, p + ".day_number")
    elif form == 3:
        out = (on if rng.random() < 0.5 else []) + words("the") \
            + day_number(rng, days, p + ".day_number", digits_allowed=False) \
            + words("of") + span(month, p + ".month_name")
    elif form == 4:
        out = on + day_name + span(month, p + ".month_name") \
            + day_number(rng, days, p + ".day_number")
    elif form == 5:
        out = span(rng.choice(("next", "this")), p + ".date_relative") + day_name
    elif form == 6:
        out = on + day_name + words("the") \
            + day_number(rng, days, p + ".day_number", digits_allowed=False)
    elif form == 7:
        if role == "return":
            out = span(rng.choice(("the following day", "the next day")), p + ".date_relative")
        else:
            out = span(rng.choice(("tomorrow", "today")), p + ".today_relative")
    else:
        out = on + span(month, p + ".month_name") + day_number(rng, days, p + ".day_number") \
            + span(rng.choice(YEARS), p + ".year")
    # "monday morning": the period belongs to the time of the same role.
    if role != "return" and form in (0, 1, 5, 7) and rng.random() < 0.2:
        out += span(rng.choice(PERIODS), role + "_time.period_of_day")
    return out


def fill_date_bare(ctx, role):
    return fill_date(ctx, role, bare=True)


def clock(rng):
    """A clock time as ATIS writes it: "8 am", "10 30 pm", "838", "1505", "noon", "5 o'clock"."""
    form = rng.randrange(8)
    h = rng.randint(1, 12)
    ampm = rng.choice(("am", "pm"))
    if form <= 1:
        return f"{h} {ampm}"
    if form == 2:
        return f"{h} {rng.choice(('05', '15', '20', '30', '45', '50'))} {ampm}"
    if form == 3:
        return f"{h}{rng.randint(0, 59):02d}" + rng.choice(("", " am", " pm"))
    if form == 4:
        return f"{rng.randint(13, 23)}{rng.randint(0, 59):02d}"
    if form == 5:
        return rng.choice(("noon", "midnight"))
    return f"{h} o'clock"


def fill_clock(ctx, role):
    return span(clock(ctx.rng), role + "_time.time")


def fill_time_bare(ctx, role):
    out = []
    if ctx.rng.random() < 0.4:
        out = span(ctx.rng.choice(TIME_RELATIVES), role + "_time.time_relative")
    return out + fill_clock(ctx, role)


def fill_time(ctx, role):
    rng = ctx.rng
    p = role + "_time"
    form = rng.randrange(6)
    if form <= 1:
        return words("at") + fill_clock(ctx, role)
    if form == 2:
        return span(rng.choice(TIME_RELATIVES), p + ".time_relative") + fill_clock(ctx, role)
    if form == 3:
        return words("in the") + span(rng.choice(PERIODS[:3]), p + ".period_of_day")
    if form == 4:
        return words("between") + span(clock(rng), p + ".start_time") \
            + words("and") + span(clock(rng), p + ".end_time")
    return words("at") + span(f"{rng.randint(1, 12)} o'clock", p + ".time") \
        + words("in the") + span(rng.choice(PERIODS[:3]), p + ".period_of_day")


def fill_period(ctx, role):
    return span(ctx.rng.choice(PERIODS), role + "_time.period_of_day")


def fill_airline(ctx, role):
    if ctx.rng.random() < 0.2:
        return span(ctx.rng.choice(AIRLINE_CODES), "airline_code")
    return span(ctx.rng.choice(AIRLINES), "airline_name")


def fill_flight_number(ctx, role):
    rng = ctx.rng
    number = span(str(rng.randint(1, 2999)), "flight_number")
    code = span(rng.choice(AIRLINE_CODES), "airline_code")
    form = rng.randrange(5)
    if form <= 1:
        return words("flight") + number
    if form == 2:
        return span(rng.choice(AIRLINES), "airline_name") + words("flight") + number
    if form == 3:
        return code + number
    return words("flight") + code + number


def fill_fare(ctx, role):
    rng = ctx.rng
    before, relative, after = rng.choice(FARE_RELATIVES)
    amount = rng.randrange(100, 1600, 100) if rng.random() < 0.5 else rng.randint(49, 1500)
    return words(before) + span(relative, "cost_relative") + words(after) \
        + span(f"{amount} dollars", "fare_amount")


def fill_meal(ctx, role):
    rng = ctx.rng
    form = rng.randrange(4)
    if form == 0:
        return words("a") + span("meal", "meal")
    if form == 1:
        return span("meals", "meal")
    if form == 2:
        return words("a") + span("snack", "meal_description")
    return span(rng.choice(MEAL_DESCRIPTIONS), "meal_description")


def fill_aircraft(ctx, role):
    article, maker, code = ctx.rng.choice(AIRCRAFT)
    return words(f"{article} {maker}") + span(code, "aircraft_code")


def fill_stops(ctx, role):
    if ctx.rng.random() < 0.25:
        return span("direct", "connect")
    return span(ctx.rng.choice(("nonstop", "non stop")), "flight_stop")


def simple(values, slot):
    return lambda ctx, role: span(ctx.rng.choice(values), slot)


# Placeholder name -> filler function; the phrase macros are in templates.PHRASES.
SLOT_FILLERS = {
    "city": fill_city,
    "loc": fill_loc,
    "date": fill_date,
    "date_bare": fill_date_bare,
    "time": fill_time,
    "time_bare": fill_time_bare,
    "clock": fill_clock,
    "period": fill_period,
    "airline": fill_airline,
    "flightnum": fill_flight_number,
    "fare": fill_fare,
    "meal": fill_meal,
    "aircraft": fill_aircraft,
    "stops": fill_stops,
    "class": simple(CLASSES, "class_type"),
    "rt": simple(ROUND_TRIPS, "round_trip"),
    "cost": simple(COST_SUPERLATIVES, "cost_relative"),
    "mod": simple(FLIGHT_MODS, "flight_mod"),
    "or": simple(("or",), "or"),
}
