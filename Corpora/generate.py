#!/usr/bin/env python3
"""Generate Trellis's SYNTHETIC ATIS-style flight-query slot-filling corpus.

Every sentence is a hand-written template filled from small vocabularies;
none is a real user query. Output is CoNLL-style: one `token<TAB>label` line
per token, IOB2 labels with ATIS slot-type names, a blank line after every
sentence.

    python3 Corpora/generate.py                  # rewrite Corpora/synthetic and Corpora/tiny
    python3 Corpora/generate.py --seed 7 --out /tmp/syn
    python3 Corpora/generate.py --check          # exit 1 if the committed files are stale

Determinism: all randomness comes from random.Random instances seeded with
strings (a str seed is hashed with SHA-512, not with Python's randomised
hash()), and no output depends on set or hash ordering, so a seed always
yields the same bytes.
"""

import argparse
import filecmp
import functools
import hashlib
import re
import sys
import tempfile
from pathlib import Path
from random import Random

SEED = 1991
HERE = Path(__file__).resolve().parent

# (split, sentences, share of city mentions drawn from TEST_ONLY_CITIES)
SPLITS = (("train", 4000, 0.0), ("dev", 500, 0.0), ("test", 1000, 0.2))
# The fixtures always use SEED, whatever --seed says: tests depend on their exact content.
TINY_SPLITS = (("train", 40, 0.0), ("dev", 10, 0.0), ("test", 10, 0.2))

# ---------------------------------------------------------------------------
# Vocabularies. Tuples, not sets: rng.choice needs a fixed order.

SHARED_CITIES = (
    "boston", "denver", "dallas", "atlanta", "pittsburgh", "baltimore",
    "philadelphia", "san francisco", "new york", "new york city",
    "salt lake city", "fort worth", "los angeles", "las vegas", "seattle",
    "chicago", "miami", "houston", "phoenix", "detroit", "cleveland",
    "charlotte", "milwaukee", "minneapolis", "st. louis", "st. paul",
    "kansas city", "washington", "oakland", "orlando", "newark", "memphis",
    "nashville", "indianapolis", "cincinnati", "columbus", "san diego",
    "san jose", "toronto", "montreal", "tampa", "burbank", "ontario",
    "long beach", "portland", "austin", "dayton", "springfield", "jackson",
)

# Never generated for train or dev, so a model meets them only at test time.
# Most of their tokens are unknown words; "new orleans" and "st. petersburg"
# begin with a token that is known from other cities.
TEST_ONLY_CITIES = (
    "tacoma", "spokane", "albuquerque", "boise", "tucson", "el paso",
    "des moines", "little rock", "santa fe", "st. petersburg", "new orleans",
    "sioux falls", "baton rouge", "anchorage", "honolulu", "omaha", "fresno",
    "green bay", "grand rapids", "corpus christi",
)

# "portland me" deliberately reuses the token "me" of "show me".
STATE_CITIES = (
    ("washington", "dc"), ("kansas city", "mo"), ("columbus", "oh"),
    ("charlotte", "nc"), ("portland", "me"), ("springfield", "il"),
    ("austin", "tx"), ("dayton", "oh"), ("jackson", "ms"), ("las vegas", "nv"),
)

AIRPORTS = (
    "logan international", "love field", "la guardia", "kennedy airport",
    "o'hare", "o'hare international", "dulles international", "midway airport",
    "general mitchell international", "hobby airport", "stapleton international",
)
AIRPORT_CODES = ("bwi", "lax", "dfw", "jfk", "ord", "sfo", "lga", "mco", "dca", "iad")

AIRLINES = (
    "american airlines", "american", "united", "united airlines", "delta",
    "delta airlines", "continental", "continental airlines", "us air",
    "northwest", "northwest airlines", "alaska airlines", "america west",
    "midwest express", "eastern", "lufthansa", "air canada", "southwest",
    "southwest airlines", "tower air",
)
AIRLINE_CODES = ("aa", "ua", "dl", "co", "nw", "hp", "tw", "twa", "ea", "wn")

# (article, words before the code, aircraft code)
AIRCRAFT = (
    ("a", "boeing", "727"), ("a", "boeing", "737"), ("a", "boeing", "747"),
    ("a", "boeing", "757"), ("a", "boeing", "767"), ("a", "", "dc10"),
    ("an", "", "md80"), ("an", "", "m80"), ("an", "", "l1011"),
    ("a", "", "d9s"), ("a", "", "72s"), ("an", "", "f28"), ("a", "", "733"),
)

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    ("january", 31), ("february", 28), ("march", 31), ("april", 30),
    ("may", 31), ("june", 30), ("july", 31), ("august", 31),
    ("september", 30), ("october", 31), ("november", 30), ("december", 31),
)
_UNITS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh",
          "eighth", "ninth")
ORDINAL_WORDS = _UNITS + (
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
    "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
) + tuple("twenty " + u for u in _UNITS) + ("thirtieth", "thirty first")
YEARS = ("1991", "1992", "1993")

PERIODS = ("morning", "afternoon", "evening", "night")
TIME_RELATIVES = ("before", "after", "around", "about", "no later than", "later than")
CLASSES = ("first class", "business class", "coach")
ROUND_TRIPS = ("round trip", "one way")
COST_SUPERLATIVES = ("cheapest", "least expensive", "lowest", "lowest cost", "most expensive")
# (words before, the cost_relative word, words after): ATIS labels only "less" in "less than".
FARE_RELATIVES = (("", "under", ""), ("", "less", "than"), ("", "below", ""),
                  ("", "cheaper", "than"), ("for", "less", "than"))
FLIGHT_MODS = ("earliest", "latest", "first", "last")
MEAL_DESCRIPTIONS = ("breakfast", "lunch", "dinner")

LOC = {"from": "fromloc", "to": "toloc", "stop": "stoploc"}

# ---------------------------------------------------------------------------
# Labelled-token helpers


def words(text):
    return [(w, "O") for w in text.split()]


def span(text, slot):
    toks = text.split()
    return [(toks[0], "B-" + slot)] + [(w, "I-" + slot) for w in toks[1:]]


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


# ---------------------------------------------------------------------------
# Slot fillers: f(ctx, role) -> [(token, label)]. The role (after ":" in a
# template placeholder) picks the label family, e.g. {city:to} -> toloc.city_name.


def fill_city(ctx, role):
    return span(ctx.city(), LOC[role] + ".city_name")


def fill_loc(ctx, role):
    """A departure/arrival location: mostly a city, sometimes with a state code, an airport or its code."""
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
        out = on + day_name + span(month, p + ".month_name") + day_number(rng, days, p + ".day_number")
    elif form == 5:
        out = span(rng.choice(("next", "this")), p + ".date_relative") + day_name
    elif form == 6:
        out = on + day_name + words("the") + day_number(rng, days, p + ".day_number", digits_allowed=False)
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


# Placeholder name -> filler function, or a tuple of phrase templates (a macro).
FILLERS = {
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
    # Carrier phrases and politeness; repeated "" entries make the word optional.
    "pre": ("", "", "", "", "", "please", "okay", "hi", "yes", "um", "well", "hello"),
    "post": ("", "", "", "", "", "please", "thanks", "thank you"),
    "show": (
        "show me", "list", "give me", "what are", "i would like to see",
        "can you show me", "could you list", "could you give me", "find me", "i need",
        "i want", "display", "tell me about", "let me see",
    ),
    "det": ("", "", "all", "the", "all the"),
    "want_fly": (
        "i want to fly", "i would like to fly", "i need to fly", "i'd like to fly",
        "i have to fly", "i need to travel", "i want to travel", "we would like to go",
        "i plan to fly", "i'm trying to get", "how can i get", "i am flying",
    ),
    "want_flight": (
        "i want a flight", "i would like a flight", "i need a flight",
        "i'm looking for a flight", "do you have a flight", "is there a flight",
        "can i get a flight", "i'd like to book a flight", "find me a flight",
        "give me a flight", "are there any flights", "what flights are there",
        "i need information on flights",
    ),
    "i_want": ("i want", "i would like", "i need", "i'd like", "please use", "i prefer"),
}

# ---------------------------------------------------------------------------
# Templates: (weight, template). Syntax: plain words are O; {kind:role} calls a
# filler; [a|b|] picks one alternative (possibly empty), alternatives may nest.

TEMPLATES = (
    # Roles signalled by the words to the LEFT (from / to / via / leaving / arriving).
    (10, "{pre} {show} {det} [|{stops}|{mod}|{period:depart}|{airline}|{rt}|{class}] flights from {loc:from} to {loc:to} [|{date:depart}] [|{time:depart}] {post}"),
    (8, "{pre} {want_fly} from {loc:from} to {loc:to} [|{date:depart}] [|{time:depart}] [|on {airline}] {post}"),
    (6, "{pre} {want_flight} from {loc:from} to {loc:to} [|{date:depart}] [|leaving {time:depart}|that leaves {time:depart}|arriving {time:arrive}|that arrives {time:arrive}] {post}"),
    (5, "{show} {det} flights [going|] to {loc:to} from {loc:from} [|{date:depart}] [|{time:depart}]"),
    (4, "{show} {det} flights between {city:from} and {city:to} [|{date:depart}] [|{time:depart}]"),
    (3, "{want_flight} [leaving|departing|out of] {city:from} {time:depart} [and arriving in|that gets to|and landing in] {city:to} {time:arrive}"),
    (3, "what flights [leave|depart] {city:from} {date:depart} and arrive in {city:to} {time:arrive}"),
    (3, "{show} {det} flights from {city:from} to {city:to} leaving {time:depart} and arriving {time:arrive}"),
    (4, "{want_fly} from {city:from} to {city:to} [with a stop in|stopping in|via|by way of|with a stopover in|connecting in] {city:stop} [|{date:depart}]"),
    (3, "{show} {det} flights from {city:from} to {city:to} that [stop in|go through|make a stop in|stop over in] {city:stop}"),
    (2, "is there a flight from {city:from} [through|via] {city:stop} to {city:to} [|{date:depart}]"),
    (4, "{want_fly} from {city:from} to {city:to} {date:depart} and [return|come back|fly back] {date:return}"),
    (3, "i need a {rt} [ticket|flight] from {city:from} to {city:to} [leaving|departing] {date:depart} and returning {date:return}"),
    (3, "{show} {det} [|{rt}] fares from {city:from} to {city:to} [|{fare}]"),
    (3, "what is the {cost} [|{rt}] fare from {city:from} to {city:to} [|on {airline}] [|{date:depart}]"),
    (3, "{show} {det} {class} [fares|flights|tickets] from {city:from} to {city:to} [|{date:depart}]"),
    (2, "[i want|i would like|i need] to fly {class} from {city:from} to {city:to} [|on {airline}]"),
    (2, "how much is a {class} ticket from {city:from} to {city:to} [|{date:depart}]"),
    (3, "{show} {det} {airline} flights from {city:from} to {city:to} [|{time:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} [on|with|flying] {airline} [|{date:depart}] [|{time:depart}]"),
    (2, "{want_flight} on {airline} from {city:from} to {city:to} [leaving|departing] {time:depart}"),
    (2, "[which|what] airlines fly from {city:from} to {city:to} [|{date:depart}]"),
    (3, "[what is|tell me about|i want information on|give me information about] {flightnum} from {city:from} to {city:to}"),
    (2, "does {flightnum} [serve|have|offer] {meal}"),
    (2, "how much does {flightnum} from {city:from} to {city:to} cost"),
    (1, "what [type of aircraft|kind of plane] is used on {flightnum}"),
    (2, "which flights from {city:from} to {city:to} [serve|offer|have] {meal} [|{date:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} [|{date:depart}] [that serve|with] {meal}"),
    (2, "{show} {det} flights from {city:from} to {city:to} on {aircraft}"),
    (3, "i would like a {stops} flight from {city:from} to {city:to} [|{date:depart}] [|{time:depart}]"),
    (2, "[are there any|is there a] {stops} [flight|flights] from {city:from} to {city:to} [|{date:depart}]"),
    (3, "what is the {mod} flight from {loc:from} to {loc:to} [|{date:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} {fare}"),
    (3, "i need to [be in|get to] {city:to} {time:arrive} [|{date:arrive}] [coming|flying] from {city:from}"),
    (3, "{show} {det} flights from {city:from} to {city:to} arriving {date:arrive} [|{time:arrive}]"),
    (3, "{date:depart} i [need|want|would like] to fly from {city:from} to {city:to} [|{time:depart}]"),
    (2, "{show} {det} flights [from {city:from} to {city:to} {or} {city:to}|from {city:from} {or} {city:from} to {city:to}]"),
    # Roles decided by the words to the RIGHT: the left context is identical across
    # roles (often empty), so a purely left-to-right tagger has to guess.
    (3, "[|okay|well|so] {city:from} is where i [leave from|am leaving from|depart from|am flying out of|start from|will be leaving from] [|{date:depart}]"),
    (3, "[|okay|well|so] {city:to} is where i [want to go|am going|need to go|want to fly to|am heading|need to be] [|{date:arrive}]"),
    (2, "{city:to} is my [destination|final destination] [|and i am leaving from {city:from}|and i leave {date:depart}]"),
    (2, "{city:from} is my [departure city|point of origin|starting point|origin] [|and i want to go to {city:to}|and i am flying to {city:to}]"),
    (2, "{city:stop} is where i [want to stop|want a layover|would like to stop over|change planes|want to connect]"),
    (2, "{i_want} {city:to} as my [destination|final destination] [|for this trip]"),
    (2, "{i_want} {city:from} as my [departure city|starting point|origin] [|for this trip]"),
    (2, "{i_want} {city:stop} as [a stopover|my layover|the connection|a stop] [|for this trip]"),
    (2, "{show} {det} {city:from} departures [|{time:depart}|{date:depart}]"),
    (2, "{show} {det} {city:to} arrivals [|{time:arrive}|{date:arrive}]"),
    (3, "[|{show}] {city:from} to {city:to} [|flights|fares] [|{date:depart}] [|on {airline}]"),
    (2, "[is there|do you have|i need] a {city:from} to {city:to} flight [|{date:depart}]"),
    (3, "the flight should [leave|depart from] {city:from} [|{time:depart}] and arrive in {city:to} [|{time:arrive}]"),
    (2, "{time_bare:depart} is when i [want to leave|would like to depart|need to take off|want to fly out] [|from {city:from}]"),
    (2, "{time_bare:arrive} is when i [need to arrive|want to land|have to get in|need to be there] [|in {city:to}]"),
    (1, "[|the] {period:depart} is when i [want to leave|prefer to depart]"),
    (1, "[|the] {period:arrive} is when i [want to arrive|need to get in]"),
    (2, "{date_bare:depart} is when i [leave|fly out|want to depart|am leaving] [|for {city:to}]"),
    (2, "{date_bare:return} is when i [come back|return|fly home|want to return]"),
    (1, "{date_bare:arrive} is when i [need to arrive|have to be there|must arrive] [|in {city:to}]"),
    (2, "{date:depart} i [leave|fly out|depart] and {date:return} i [return|come back|fly home]"),
    (2, "[what is|tell me about|is there] the {clock:depart} departure from {city:from} [|to {city:to}]"),
    (2, "[what is|tell me about|is there] the {clock:arrive} arrival [in|into] {city:to} [|from {city:from}]"),
    (1, "{city:from} and {city:to} are my origin and destination"),
    (1, "{city:to} and {city:from} are my destination and origin"),
)

# The 5-sentence fixture every model must fit perfectly: short, unambiguous,
# 7 slot types, several multi-token spans.
OVERFIT = (
    words("flights from") + span("boston", "fromloc.city_name")
    + words("to") + span("new york", "toloc.city_name"),
    span("denver", "toloc.city_name") + words("is my destination"),
    words("leave") + span("dallas", "fromloc.city_name") + words("at") + span("8 am", "depart_time.time"),
    span("cheapest", "cost_relative") + span("round trip", "round_trip")
    + words("on") + span("delta", "airline_name"),
    words("show me") + span("first class", "class_type") + words("fares to") + span("miami", "toloc.city_name"),
)

# ---------------------------------------------------------------------------
# Template parsing and expansion

TOKEN = re.compile(r"\{[^{}]*\}|[\[\]|]|[^\s\[\]|{}]+")


@functools.lru_cache(maxsize=None)
def parse(template):
    """Template -> tuple of nodes: ("word", w), ("slot", kind, role), ("choice", (seq, ...))."""
    tokens = TOKEN.findall(template)
    seq, end = _parse_seq(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced brackets in {template!r}")
    return seq


def _parse_seq(tokens, i):
    seq = []
    while i < len(tokens) and tokens[i] not in ("|", "]"):
        tok = tokens[i]
        if tok == "[":
            alternatives = []
            while True:
                alt, i = _parse_seq(tokens, i + 1)
                alternatives.append(alt)
                if i >= len(tokens):
                    raise ValueError("unclosed [")
                if tokens[i] == "]":
                    break
            seq.append(("choice", tuple(alternatives)))
        elif tok.startswith("{"):
            kind, _, role = tok[1:-1].partition(":")
            if kind not in FILLERS:
                raise ValueError(f"unknown placeholder {tok}")
            seq.append(("slot", kind, role))
        else:
            seq.append(("word", tok))
        i += 1
    return tuple(seq), i


def expand(template, ctx):
    out = []
    _expand(parse(template), ctx, out)
    return out


def _expand(seq, ctx, out):
    for node in seq:
        if node[0] == "word":
            out.append((node[1], "O"))
        elif node[0] == "choice":
            _expand(ctx.rng.choice(node[1]), ctx, out)
        else:
            filler = FILLERS[node[1]]
            if isinstance(filler, tuple):
                out.extend(expand(ctx.rng.choice(filler), ctx))
            else:
                out.extend(filler(ctx, node[2]))


# ---------------------------------------------------------------------------
# Corpus generation and validation

TEMPLATE_TEXTS = tuple(t for _, t in TEMPLATES)
CUM_WEIGHTS = tuple(sum(w for w, _ in TEMPLATES[:i + 1]) for i in range(len(TEMPLATES)))


def generate(seed, splits):
    """Return [(split name, sentences)]. Sentences are unique by token sequence
    across all splits, so dev/test never repeat a training sentence verbatim."""
    seen = set()  # membership tests only
    corpus = []
    for name, size, unseen_city_rate in splits:
        rng = Random(f"trellis-synthetic:{seed}:{name}")
        sentences = []
        attempts = 0
        while len(sentences) < size:
            attempts += 1
            if attempts > 100 * size:
                raise RuntimeError(f"{name}: too many duplicate sentences; templates too narrow")
            template = rng.choices(TEMPLATE_TEXTS, cum_weights=CUM_WEIGHTS)[0]
            sentence = expand(template, Context(rng, unseen_city_rate))
            key = tuple(tok for tok, _ in sentence)
            if key not in seen:
                seen.add(key)
                sentences.append(sentence)
        corpus.append((name, sentences))
    return corpus


def bio_errors(sentence):
    errors = []
    prev = "O"
    for tok, label in sentence:
        if not tok or tok != tok.lower() or any(c.isspace() for c in tok):
            errors.append(f"bad token {tok!r}")
        if label.startswith("I-") and prev[2:] != label[2:]:
            errors.append(f"{label} after {prev} at {tok!r}")
        elif label != "O" and not label.startswith(("B-", "I-")):
            errors.append(f"bad label {label}")
        prev = label
    return errors


def contains(tokens, sub):
    n = len(sub)
    return any(tuple(tokens[i:i + n]) == sub for i in range(len(tokens) - n + 1))


def validate(corpus):
    """Fail loudly rather than write a corpus that breaks its documented guarantees."""
    for name, sentences in corpus:
        for sentence in sentences:
            errors = bio_errors(sentence)
            if not sentence or errors:
                raise AssertionError(f"{name}: {' '.join(t for t, _ in sentence)}: {errors}")
    known = [[t for t, _ in s] for name, sents in corpus if name != "test" for s in sents]
    for city in TEST_ONLY_CITIES:
        if any(contains(tokens, tuple(city.split())) for tokens in known):
            raise AssertionError(f"test-only city {city!r} occurs outside test")
    train_vocab = {t for s in dict(corpus)["train"] for t, _ in s}
    if all(t in train_vocab for s in dict(corpus)["test"] for t, _ in s):
        raise AssertionError("test has no word unseen in train")


def conll(sentences):
    return "".join("".join(f"{t}\t{l}\n" for t, l in s) + "\n" for s in sentences)


def write(corpus, directory):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, sentences in corpus:
        path = directory / f"{name}.conll"
        path.write_bytes(conll(sentences).encode("utf-8"))
        paths.append(path)
    return paths


def write_all(seed, out, tiny_out):
    main = generate(seed, SPLITS)
    tiny = generate(SEED, TINY_SPLITS)
    validate(main)
    validate(tiny)
    paths = write(main, out) + write(tiny, tiny_out)
    overfit = tiny_out / "overfit.conll"
    overfit.write_bytes(conll(OVERFIT).encode("utf-8"))
    return paths + [overfit]


def summary(paths):
    """Markdown table of per-file counts, used to keep README.md up to date."""
    lines = ["| file | sentences | tokens | distinct labels (incl. O) | slot types | sha256 |",
             "|---|---|---|---|---|---|"]
    for path in paths:
        data = path.read_bytes()
        blocks = [b for b in data.decode("utf-8").split("\n\n") if b.strip()]
        labels = [line.split("\t")[1] for b in blocks for line in b.split("\n")]
        distinct = sorted(set(labels))
        types = sorted({l[2:] for l in distinct if l != "O"})
        lines.append(f"| {path.parent.name}/{path.name} | {len(blocks)} | {len(labels)} | "
                     f"{len(distinct)} | {len(types)} | `{hashlib.sha256(data).hexdigest()}` |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"corpus seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=HERE / "synthetic",
                        help="directory for train/dev/test.conll (default Corpora/synthetic)")
    parser.add_argument("--tiny-out", type=Path, default=HERE / "tiny",
                        help="directory for the test fixtures (default Corpora/tiny); always seed "
                             f"{SEED}")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and exit 1 if any file "
                             "differs from the one in --out / --tiny-out")
    args = parser.parse_args()

    if not args.check:
        print(summary(write_all(args.seed, args.out, args.tiny_out)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(args.seed, Path(tmp) / "synthetic", Path(tmp) / "tiny")
        committed_dirs = {"synthetic": args.out, "tiny": args.tiny_out}
        stale = []
        for path in fresh:
            committed = committed_dirs[path.parent.name] / path.name
            if not committed.is_file() or not filecmp.cmp(path, committed, shallow=False):
                stale.append(committed)
                print(f"differs: {committed}", file=sys.stderr)
    if stale:
        print("regenerate with: python3 Corpora/generate.py", file=sys.stderr)
        return 1
    print("ok: generated corpus matches the committed files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
