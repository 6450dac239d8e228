#!/usr/bin/env python3
"""Runs the slot-tagging evaluation; the code and its documentation are in trellis_eval/."""

from trellis_eval.cli import main

if __name__ == "__main__":
    main()
