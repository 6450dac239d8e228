"""The synthetic corpus generator behind Corpora/generate.py (its command line).

vocabulary.py  slot values: cities, airlines, dates, times, fares, ...
templates.py   carrier phrases, the weighted sentence templates, the overfit fixture
labels.py      (token, IOB2 label) helpers, the IOB2 check and the CoNLL text format
fillers.py     slot fillers: draw a value for one {kind:role} placeholder and label it
grammar.py     parse and expand the template language
corpus.py      draw, validate and write the splits; the README summary table
"""
