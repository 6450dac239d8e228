"""Tests of trellis_eval: python3 -m unittest discover -s Eval/tests -t Eval."""
