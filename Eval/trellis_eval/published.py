"""Published ATIS slot-filling scores, quoted in the ATIS report for orientation."""

_INTRO = """\
## Published ATIS numbers (for orientation only)

These are **published** slot-filling F1 scores from the literature, **not** results of this
evaluation and **not one-to-one comparable** with the table above: most were measured on the
original ATIS split (4,978 training sentences, dev taken from them, 893 test sentences) with
each paper's own preprocessing (e.g. digit normalisation, named-entity features), label set,
and model selection; some report the best of several runs rather than a mean. Only the
Goo et al. (2018) rows use the same SlotGated-SLU split as this corpus. Each number below was
confirmed in the source named next to it; where that source is not the paper itself it is said.

| Model (paper) | Slot F1 | Split | Confirmed in |
|---|---|---|---|
"""

_SAME = "**same as ours**"
# (model and paper, slot F1, split, where the number was confirmed)
_ROWS = [
    ("Elman RNN, single model, context window 9 — Mesnil et al., *Using Recurrent Neural "
     "Networks for Slot Filling in Spoken Language Understanding*, IEEE/ACM TASLP 2015 (Table 3)",
     "94.98", "original", "quoted from Table 3 in lisa-lab/DeepLearningTutorials issue #144"),
    ("Simple RNN — Yao et al., *Recurrent Neural Networks for Language Understanding*, "
     "Interspeech 2013",
     "94.11", "original", "summary table in github.com/ZhenwenZhang/Slot_Filling (README)"),
    ("LSTM — Yao et al., *Spoken Language Understanding Using Long Short-Term Memory Neural "
     "Networks*, IEEE SLT 2014",
     "94.85", "original", 'same summary table ("LSTM, SLT Workshop 2014")'),
    ("Deep LSTM — Yao et al., SLT 2014 (same paper)",
     "95.08", "original", "same summary table"),
    ("Encoder-labeler deep LSTM — Kurata et al., *Leveraging Sentence-level Information with "
     "Encoder LSTM for Semantic Slot Filling*, EMNLP 2016",
     "95.66", "original", "the paper's abstract (arXiv 1601.01530)"),
    ("Attention-based RNN, joint intent + slot training — Liu & Lane, *Attention-Based Recurrent "
     "Neural Network Models for Joint Intent Detection and Slot Filling*, Interspeech 2016",
     "95.98", "original", "as quoted in MiuLab/SlotGated-SLU issue #4"),
    ("Liu & Lane's attention model re-run by Goo et al. on the SlotGated split",
     "94.2", _SAME, "Goo et al. 2018, as quoted in MiuLab/SlotGated-SLU issue #4"),
    ("Slot-gated (full attention) — Goo et al., *Slot-Gated Modeling for Joint Slot Filling and "
     "Intent Prediction*, NAACL 2018",
     "94.8", _SAME,
     '"Official" row in github.com/bo-ke/cybo tutorials/slu/slot_gated/readme.md'),
    ("Slot-gated (intent attention) — Goo et al., NAACL 2018",
     "95.2", _SAME, "paperswithcode.com page of the paper (ATIS F1 95.20)"),
]

_OUTRO = """
Not listed because they could not be confirmed here: Mesnil et al.'s Jordan and hybrid RNN
numbers (≈95.06 is often quoted for the hybrid) and Liu & Lane's independent-training
attention encoder-decoder (≈95.87 is often quoted). The Goo et al. numbers are the closest
reference point; note that they are joint intent + slot models, while every system here
tags slots only.
"""

PUBLISHED = _INTRO + "".join(f"| {' | '.join(row)} |\n" for row in _ROWS) + _OUTRO
