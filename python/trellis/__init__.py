"""Trellis from Python: structured sequence tagging (BiLSTM-CRF) through libTrellisC.so.

    import trellis
    tagger = trellis.Tagger("models/synthetic.model")
    for span in tagger.tag_texts(["flights from boston to denver"])[0].spans:
        print(span.label, span.text)

`trellis.Client("http://127.0.0.1:8080")` makes the same calls, with the same results, on a
running `trellis-serve`. The spaCy component is
`nlp.add_pipe("trellis_tagger", config={"model": path})` (`trellis.spacy_component`).
"""

from ._library import TrellisError, library_path, version
from .client import Client, ServerError
from .results import Alternative, Span, TaggingResult
from .tagger import Tagger

__all__ = [
    "Alternative",
    "Client",
    "ServerError",
    "Span",
    "Tagger",
    "TaggingResult",
    "TrellisError",
    "library_path",
    "version",
]
