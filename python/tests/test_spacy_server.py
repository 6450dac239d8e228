"""The spaCy component with `config={"url": ...}`: it tags on a `trellis-serve` through
`Client`, with the Docs of a component with the model file, hands the Docs a server refuses
to the error handler, and takes the `Client`'s settings."""

from __future__ import annotations

import json
import pickle
import re
import time
from typing import Dict, List, Tuple

import pytest
import spacy

import trellis
from conftest import CORPUS, conll_sentences, served
from stand_in_server import stand_in

SENTENCES: List[List[str]] = list(conll_sentences(str(CORPUS / "test.conll")))[:25]


def test_the_spacy_component_tags_on_a_server(server: str, model_path: str, tmp_path) -> None:
    """`config={"url": ...}`: the Docs of a pipeline with the model file, saved without a
    model, and a pickled copy (as `nlp.pipe`'s spawned workers get it) that tags too."""
    local, remote = spacy.blank("en"), spacy.blank("en")
    local.add_pipe("trellis_tagger", config={"model": model_path, "confidence": True})
    remote.add_pipe("trellis_tagger", config={"url": server, "confidence": True})
    texts = [" ".join(tokens) for tokens in SENTENCES[:25]] + ["", "  boston  "]

    def answers(nlp) -> List[tuple]:
        return [(doc._.trellis_json_line, [(e.start, e.end, e.label_) for e in doc.ents])
                for doc in nlp.pipe(texts, batch_size=8)]

    assert answers(remote) == answers(local)
    remote.to_disk(tmp_path / "pipeline")
    assert not (tmp_path / "pipeline" / "trellis_tagger" / "model").exists()
    assert answers(spacy.load(tmp_path / "pipeline")) == answers(local)
    assert answers(pickle.loads(pickle.dumps(remote))) == answers(local)
    with pytest.raises(trellis.TrellisError, match="holds no model"):
        remote.get_pipe("trellis_tagger").tagger


def test_the_spacy_component_on_a_server_hands_docs_to_the_error_handler() -> None:
    """A refused sentence sends its Doc alone to the handler, named as the model file's
    errors name it; a server out of reach sends the whole batch at once (Doc by Doc, each
    cost its own timeout)."""
    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        sentences = [request["tokens"] for request in json.loads(body)["sentences"]]
        # The server's three forms: a sentence named first, one named last (its token limit
        # per request), and a refusal naming none (a body over its limit).
        if ["bad"] in sentences:
            error = {"error": f"sentences[{sentences.index(['bad'])}]: this one is refused"}
            return 400, {}, json.dumps(error).encode()
        if ["long"] in sentences:
            error = {"error": "more than 50000 tokens (the limit per request) by "
                              f"sentences[{sentences.index(['long'])}] (id 7)"}
            return 400, {}, json.dumps(error).encode()
        if ["huge"] in sentences:
            error = {"error": "the body is larger than 1048576 bytes, the limit"}
            return 413, {}, json.dumps(error).encode()
        results = [{"labels": ["O"] * len(s), "spans": [], "tokens": s} for s in sentences]
        return 200, {}, json.dumps({"results": results}, separators=(",", ":")).encode()

    handled = []
    with stand_in(answer) as url:
        nlp = spacy.blank("en")
        nlp.add_pipe("trellis_tagger", config={"url": url})
        nlp.set_error_handler(lambda name, component, docs, error: handled.append((docs, error)))
        texts = ["a b", "bad", "c", "long", "huge"]
        assert [doc.text for doc in nlp.pipe(texts)] == ["a b", "c"]
    assert [([doc.text for doc in docs], str(error)) for docs, error in handled] == [
        (["bad"], "the Doc 'bad': this one is refused"),
        (["long"], "the Doc 'long': more than 50000 tokens (the limit per request)"),
        (["huge"], "the Doc 'huge': the body is larger than 1048576 bytes, the limit"),
    ]

    handled.clear()
    unreachable = spacy.blank("en")
    unreachable.add_pipe("trellis_tagger", config={"url": url})  # the stand-in has stopped
    unreachable.set_error_handler(lambda name, component, docs, error: handled.append((docs, error)))
    assert list(unreachable.pipe(["a", "b", "c"])) == []
    [(docs, error)] = handled
    assert len(docs) == 3 and isinstance(error, OSError)


def test_the_spacy_component_takes_the_clients_timeout_and_retries() -> None:
    """`timeout` and `busy_retries` reach the component's `Client`: a server slower than the
    timeout, and one busy past the retries, send the batch to the error handler."""
    calls = []

    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        calls.append(body)
        if b"slow" in body:
            time.sleep(1)
        return 503, {"Retry-After": "0"}, b'{"error":"the server is busy"}'

    handled: List[Exception] = []
    with stand_in(answer) as url:
        for text, config in [("slow", {"timeout": 0.3}), ("busy", {"busy_retries": 1})]:
            nlp = spacy.blank("en")
            nlp.add_pipe("trellis_tagger", config={"url": url, **config})
            nlp.set_error_handler(lambda name, component, docs, error: handled.append(error))
            calls.clear()
            assert list(nlp.pipe([text])) == []
            assert len(calls) == (1 if text == "slow" else 2)
    assert isinstance(handled[0], TimeoutError)
    assert isinstance(handled[1], trellis.ServerError) and handled[1].status == 503


def test_the_spacy_component_tags_within_a_servers_lower_limits(model_path: str) -> None:
    """A server of `--max-tokens 20`: Docs of sentences of 8 tokens are tagged in requests it
    takes (the first refusal blamed the sentence that crossed 20, within a Doc that fits),
    and a sentence of 21 tokens alone goes to the error handler, named."""
    with served(model_path, "--max-tokens", "20") as url:
        local, remote = spacy.blank("en"), spacy.blank("en")
        for nlp, config in [(local, {"model": model_path}), (remote, {"url": url})]:
            nlp.add_pipe("sentencizer")
            nlp.add_pipe("trellis_tagger", config=config)
        texts = ["i want flights from boston to denver . " * 4,
                 " ".join(["boston"] * 21) + " .", "flights to denver ."]
        failed = []
        remote.set_error_handler(lambda name, pipe, docs, error: failed.append((docs, error)))
        tagged = [doc._.trellis_json_line for doc in remote.pipe(texts, batch_size=3)]
        assert tagged == [local(text)._.trellis_json_line for text in texts[::2]]
        [(docs, error)] = failed
        assert [doc.text for doc in docs] == [texts[1]]
        assert re.fullmatch(r"the Doc starting 'boston boston .*': more than 20 tokens \(the "
                            r"limit per request\)", str(error)), str(error)
