"""Slot values: the words that fill each slot type of the synthetic corpus.

Tuples, not sets: rng.choice needs a fixed order, so the same seed gives the same bytes.
"""

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

# Template role (the part after ":" in {city:to}) -> ATIS location label prefix.
LOC = {"from": "fromloc", "to": "toloc", "stop": "stoploc"}
