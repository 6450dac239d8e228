"""The slot-tagging comparison: every system in Eval/systems/*.json x seeds on one corpus.

For each system and seed it trains with `trellis train --log`, tags the test file (timed),
scores it with `trellis eval --json`, counts invalid BIO outputs, reads the parameter count
from the model file's header and the best-dev epoch from the log, and stores

    Eval/logs/<corpus>/<system>-seed<N>.jsonl       the training log (kept: plots come from it)
    Eval/results/<corpus>/<system>-seed<N>.json     the run's numbers
    Eval/results/<corpus>/<system>-seed<N>.pred.gz  predicted test labels (one per line, blank
                                                    line between sentences) for significance tests
    Eval/results/<corpus>/meta.json                 machine, commit, command of the last run

and then writes the report (Eval/RESULTS.md for ATIS, Eval/RESULTS-<corpus>.md otherwise) and,
when matplotlib can be imported, the plots in Eval/plots/. Models and full tagger output go to
Eval/runs/ (git-ignored). It also runs the exploding-gradient experiment of Eval/exploding.json
on the synthetic corpus (logs in Eval/logs/exploding/).

The runs write their logs and results (the exploding runs' too) to Eval/runs/<corpus>/staged/
first; these replace the kept ones (all of the corpus's, or with --systems the named systems')
only when every run succeeded, so an interrupted or failing evaluation leaves the kept files and
the report as they were.

    python3 Eval/run.py [--corpus DIR] [--seeds N] [--quick]    train, evaluate, report
    python3 Eval/run.py --report-only [--corpus DIR]              report + plots from kept files

Running needs only the Python 3 standard library; plots need matplotlib (`make plots`).
At most two trellis processes run at once: a bidirectional encoder uses both cores (one thread
per direction), so it runs alone; unidirectional ones use one core and run two at a time.

Modules: cli (the options), runner and pool (the runs), conlleval (chunk counts), stats (means,
paired bootstrap), report and plots (RESULTS.md, PNGs), systems (the configs), files (I/O),
machine (what the report records), layout (paths and defaults). Tests: Eval/tests/, run by
`make test`.
"""
