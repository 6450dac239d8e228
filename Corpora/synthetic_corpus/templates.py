"""The sentence templates and the fixed overfit fixture: the corpus's wording.

Template syntax: plain words are O; {kind:role} calls a slot filler (fillers.py) or a
phrase macro (PHRASES below); [a|b|] picks one alternative (possibly empty), and
alternatives may nest. Long templates are split into adjacent string literals, which
Python joins, so each keeps the exact text it would have on one line.
"""

from .labels import span, words

# Placeholder name -> a tuple of phrase templates, one drawn per use (a macro).
PHRASES = {
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

# (weight, template): a template is drawn with probability weight / sum of weights.
TEMPLATES = (
    # Roles signalled by the words to the LEFT (from / to / via / leaving / arriving).
    (10, "{pre} {show} {det} [|{stops}|{mod}|{period:depart}|{airline}|{rt}|{class}] flights from "
         "{loc:from} to {loc:to} [|{date:depart}] [|{time:depart}] {post}"),
    (8, "{pre} {want_fly} from {loc:from} to {loc:to} [|{date:depart}] [|{time:depart}] "
        "[|on {airline}] {post}"),
    (6, "{pre} {want_flight} from {loc:from} to {loc:to} [|{date:depart}] "
        "[|leaving {time:depart}|that leaves {time:depart}"
        "|arriving {time:arrive}|that arrives {time:arrive}] {post}"),
    (5, "{show} {det} flights [going|] to {loc:to} from {loc:from} [|{date:depart}] "
        "[|{time:depart}]"),
    (4, "{show} {det} flights between {city:from} and {city:to} [|{date:depart}] [|{time:depart}]"),
    (3, "{want_flight} [leaving|departing|out of] {city:from} {time:depart} "
        "[and arriving in|that gets to|and landing in] {city:to} {time:arrive}"),
    (3, "what flights [leave|depart] {city:from} {date:depart} and arrive in {city:to} "
        "{time:arrive}"),
    (3, "{show} {det} flights from {city:from} to {city:to} leaving {time:depart} and arriving "
        "{time:arrive}"),
    (4, "{want_fly} from {city:from} to {city:to} "
        "[with a stop in|stopping in|via|by way of|with a stopover in|connecting in] {city:stop} "
        "[|{date:depart}]"),
    (3, "{show} {det} flights from {city:from} to {city:to} that "
        "[stop in|go through|make a stop in|stop over in] {city:stop}"),
    (2, "is there a flight from {city:from} [through|via] {city:stop} to {city:to} "
        "[|{date:depart}]"),
    (4, "{want_fly} from {city:from} to {city:to} {date:depart} and [return|come back|fly back] "
        "{date:return}"),
    (3, "i need a {rt} [ticket|flight] from {city:from} to {city:to} [leaving|departing] "
        "{date:depart} and returning {date:return}"),
    (3, "{show} {det} [|{rt}] fares from {city:from} to {city:to} [|{fare}]"),
    (3, "what is the {cost} [|{rt}] fare from {city:from} to {city:to} [|on {airline}] "
        "[|{date:depart}]"),
    (3, "{show} {det} {class} [fares|flights|tickets] from {city:from} to {city:to} "
        "[|{date:depart}]"),
    (2, "[i want|i would like|i need] to fly {class} from {city:from} to {city:to} "
        "[|on {airline}]"),
    (2, "how much is a {class} ticket from {city:from} to {city:to} [|{date:depart}]"),
    (3, "{show} {det} {airline} flights from {city:from} to {city:to} [|{time:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} [on|with|flying] {airline} "
        "[|{date:depart}] [|{time:depart}]"),
    (2, "{want_flight} on {airline} from {city:from} to {city:to} [leaving|departing] "
        "{time:depart}"),
    (2, "[which|what] airlines fly from {city:from} to {city:to} [|{date:depart}]"),
    (3, "[what is|tell me about|i want information on|give me information about] {flightnum} from "
        "{city:from} to {city:to}"),
    (2, "does {flightnum} [serve|have|offer] {meal}"),
    (2, "how much does {flightnum} from {city:from} to {city:to} cost"),
    (1, "what [type of aircraft|kind of plane] is used on {flightnum}"),
    (2, "which flights from {city:from} to {city:to} [serve|offer|have] {meal} [|{date:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} [|{date:depart}] [that serve|with] "
        "{meal}"),
    (2, "{show} {det} flights from {city:from} to {city:to} on {aircraft}"),
    (3, "i would like a {stops} flight from {city:from} to {city:to} [|{date:depart}] "
        "[|{time:depart}]"),
    (2, "[are there any|is there a] {stops} [flight|flights] from {city:from} to {city:to} "
        "[|{date:depart}]"),
    (3, "what is the {mod} flight from {loc:from} to {loc:to} [|{date:depart}]"),
    (2, "{show} {det} flights from {city:from} to {city:to} {fare}"),
    (3, "i need to [be in|get to] {city:to} {time:arrive} [|{date:arrive}] [coming|flying] from "
        "{city:from}"),
    (3, "{show} {det} flights from {city:from} to {city:to} arriving {date:arrive} "
        "[|{time:arrive}]"),
    (3, "{date:depart} i [need|want|would like] to fly from {city:from} to {city:to} "
        "[|{time:depart}]"),
    (2, "{show} {det} flights [from {city:from} to {city:to} {or} {city:to}"
        "|from {city:from} {or} {city:from} to {city:to}]"),
    # Roles decided by the words to the RIGHT: the left context is identical across
    # roles (often empty), so a purely left-to-right tagger has to guess.
    (3, "[|okay|well|so] {city:from} is where i "
        "[leave from|am leaving from|depart from|am flying out of|start from|will be leaving from] "
        "[|{date:depart}]"),
    (3, "[|okay|well|so] {city:to} is where i "
        "[want to go|am going|need to go|want to fly to|am heading|need to be] [|{date:arrive}]"),
    (2, "{city:to} is my [destination|final destination] "
        "[|and i am leaving from {city:from}|and i leave {date:depart}]"),
    (2, "{city:from} is my [departure city|point of origin|starting point|origin] "
        "[|and i want to go to {city:to}|and i am flying to {city:to}]"),
    (2, "{city:stop} is where i "
        "[want to stop|want a layover|would like to stop over|change planes|want to connect]"),
    (2, "{i_want} {city:to} as my [destination|final destination] [|for this trip]"),
    (2, "{i_want} {city:from} as my [departure city|starting point|origin] [|for this trip]"),
    (2, "{i_want} {city:stop} as [a stopover|my layover|the connection|a stop] [|for this trip]"),
    (2, "{show} {det} {city:from} departures [|{time:depart}|{date:depart}]"),
    (2, "{show} {det} {city:to} arrivals [|{time:arrive}|{date:arrive}]"),
    (3, "[|{show}] {city:from} to {city:to} [|flights|fares] [|{date:depart}] [|on {airline}]"),
    (2, "[is there|do you have|i need] a {city:from} to {city:to} flight [|{date:depart}]"),
    (3, "the flight should [leave|depart from] {city:from} [|{time:depart}] and arrive in "
        "{city:to} [|{time:arrive}]"),
    (2, "{time_bare:depart} is when i "
        "[want to leave|would like to depart|need to take off|want to fly out] "
        "[|from {city:from}]"),
    (2, "{time_bare:arrive} is when i "
        "[need to arrive|want to land|have to get in|need to be there] [|in {city:to}]"),
    (1, "[|the] {period:depart} is when i [want to leave|prefer to depart]"),
    (1, "[|the] {period:arrive} is when i [want to arrive|need to get in]"),
    (2, "{date_bare:depart} is when i [leave|fly out|want to depart|am leaving] [|for {city:to}]"),
    (2, "{date_bare:return} is when i [come back|return|fly home|want to return]"),
    (1, "{date_bare:arrive} is when i [need to arrive|have to be there|must arrive] "
        "[|in {city:to}]"),
    (2, "{date:depart} i [leave|fly out|depart] and {date:return} i [return|come back|fly home]"),
    (2, "[what is|tell me about|is there] the {clock:depart} departure from {city:from} "
        "[|to {city:to}]"),
    (2, "[what is|tell me about|is there] the {clock:arrive} arrival [in|into] {city:to} "
        "[|from {city:from}]"),
    (1, "{city:from} and {city:to} are my origin and destination"),
    (1, "{city:to} and {city:from} are my destination and origin"),
)

# The 5-sentence fixture every model must fit perfectly: short, unambiguous,
# 7 slot types, several multi-token spans.
OVERFIT = (
    words("flights from") + span("boston", "fromloc.city_name")
    + words("to") + span("new york", "toloc.city_name"),
    span("denver", "toloc.city_name") + words("is my destination"),
    words("leave") + span("dallas", "fromloc.city_name")
    + words("at") + span("8 am", "depart_time.time"),
    span("cheapest", "cost_relative") + span("round trip", "round_trip")
    + words("on") + span("delta", "airline_name"),
    words("show me") + span("first class", "class_type")
    + words("fares to") + span("miami", "toloc.city_name"),
)
