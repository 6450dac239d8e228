"""The spaCy component on spacy.blank("en")."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import subprocess
import sys
import warnings

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

import trellis
from conftest import GOLD, entities
from trellis.results import TaggingResult
from trellis.spacy_component import TrellisAlignmentWarning


def test_the_factory_is_found_through_the_entry_point(model_path) -> None:
    """A fresh interpreter that never imports trellis still finds "trellis_tagger"."""
    code = (
        "import json, spacy, sys\n"
        "nlp = spacy.blank('en')\n"
        "nlp.add_pipe('trellis_tagger', config={'model': sys.argv[1]})\n"
        "doc = nlp('list flights to atlanta')\n"
        "print(json.dumps([(e.text, e.label_) for e in doc.ents]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, model_path], capture_output=True,
                          text=True, check=False, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["atlanta", "toloc.city_name"]]


def test_expected_entities(nlp) -> None:
    for text, gold in GOLD.items():
        doc = nlp(text)
        assert entities(doc) == gold
        assert doc._.trellis_unaligned == []
        assert doc._.trellis.tokens == [token.text for token in doc]


def test_bytes_without_a_model_keep_the_configured_one(nlp) -> None:
    """A pipeline on a server saves no model bytes; loaded into one with a model file, they
    were written to the cache as an empty model, and every Doc then failed."""
    nlp.get_pipe("trellis_tagger").from_bytes(b"")
    for text, gold in GOLD.items():
        assert entities(nlp(text)) == gold


def test_the_threads_setting_reaches_the_tagger(model_path, monkeypatch) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path, "threads": 1})
    asked, tag = [], trellis.Tagger.tag
    monkeypatch.setattr(trellis.Tagger, "tag",
                        lambda self, *a, **o: asked.append(o["threads"]) or tag(self, *a, **o))
    for text, gold in GOLD.items():
        assert entities(nlp(text)) == gold
    assert asked == [1] * len(GOLD)


def test_docs_equal_the_tagger_on_the_test_split(nlp, tagger, test_sentences) -> None:
    sample = test_sentences[:200]
    docs = list(nlp.pipe(Doc(nlp.vocab, words=tokens) for tokens in sample))
    for doc, result in zip(docs, tagger.tag(sample)):
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [
            (s.start, s.end, s.label) for s in result.spans
        ]


def test_pipe_sends_one_call_per_batch(nlp) -> None:
    component = nlp.get_pipe("trellis_tagger")
    calls = []
    original = component.tagger.tag

    def counting(sentences, *arguments, **options):
        calls.append(len(sentences))
        return original(sentences, *arguments, **options)

    component._tagger = type("Spy", (), {"tag": staticmethod(counting)})()
    docs = list(nlp.pipe(["list flights to atlanta"] * 10, batch_size=4))
    assert calls == [4, 4, 2]
    assert all(entities(doc) == [("atlanta", "toloc.city_name")] for doc in docs)


def test_the_result_is_in_the_docs_coordinates(model_path, tagger) -> None:
    """Whitespace tokens are not tagged, and `doc._.trellis` is the Doc's: its tokens and text,
    None for a whitespace token's label and confidence, spans as `doc.ents` (a whitespace
    token inside one included), their characters in `doc.text` (where a token has no space
    after it too). Its spans counted the tagged tokens alone, and their characters indexed
    those tokens joined by spaces."""
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path, "confidence": True})
    doc = nlp("flights  from   boston\n\nto denver, please from san  francisco")
    tagged = [token.text for token in doc if not token.is_space]
    assert len(tagged) < len(doc)
    [alone] = tagger.tag([tagged], confidence=True)
    result = doc._.trellis
    assert (result.tokens, result.text) == ([token.text for token in doc], doc.text)
    assert [label for label in result.labels if label is not None] == alone.labels
    assert [c for c in result.confidences if c is not None] == alone.confidences
    assert all((label is None) == token.is_space for label, token in zip(result.labels, doc))
    assert [(s.start, s.end, s.start_char, s.end_char, s.text, s.label) for s in result.spans] \
        == [(e.start, e.end, e.start_char, e.end_char, e.text, e.label_) for e in doc.ents]
    assert {("boston", "fromloc.city_name"), ("denver", "toloc.city_name"),
            ("san  francisco", "fromloc.city_name")} <= {(s.text, s.label) for s in result.spans}
    assert result.probability == alone.probability
    assert TaggingResult.from_json_line(result.json_line) == result


def test_the_result_refuses_a_doc_retokenized_after_tagging(nlp) -> None:
    """After `merge_entities` its spans would index the old tokens: 'san francisco on' for
    'san francisco', and an empty span."""
    nlp.add_pipe("merge_entities")
    doc = nlp("i want to fly from dallas to san francisco on monday")
    assert [ent.text for ent in doc.ents][1] == "san francisco"
    with pytest.raises(trellis.TrellisError, match="tokens changed after trellis_tagger"):
        doc._.trellis


def test_a_whitespace_token_inside_a_span_stays_inside_it(nlp) -> None:
    doc = nlp("i want to fly from dallas to san  francisco")
    assert [token.text for token in doc][-3:] == ["san", " ", "francisco"]
    assert entities(doc) == [("dallas", "fromloc.city_name"),
                             ("san  francisco", "toloc.city_name")]


def with_city_ruler(model_path: str, *extra_patterns: dict, **config) -> spacy.Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "CITY", "pattern": "denver"}, *extra_patterns])
    nlp.add_pipe("trellis_tagger", config={"model": model_path, **config})
    return nlp


def test_overlapping_spans_are_reported_not_dropped(model_path) -> None:
    nlp = with_city_ruler(model_path)
    with pytest.warns(TrellisAlignmentWarning, match="overlap entities already in doc.ents"):
        doc = nlp("show me flights from boston to denver on monday")
    assert entities(doc) == [
        ("boston", "fromloc.city_name"), ("denver", "CITY"), ("monday", "depart_date.day_name")
    ]
    [report] = doc._.trellis_unaligned
    assert (report["text"], report["label"], report["start"], report["end"]) == (
        "denver", "toloc.city_name", 6, 7)
    assert "overlaps the entity 'denver' (CITY)" in report["reason"]


def test_the_alignment_warning_is_one_text_whatever_the_doc(model_path) -> None:
    """Under Python's default filter, Docs whose spans overlap different entities warn once:
    the warning named the Doc's entity, so each Doc printed one, and Python kept each text
    (a service's memory grew with every Doc)."""
    # Not spaCy's entity_ruler: its every call resets the warning filters, and Python then
    # forgets what it has shown.
    @Language.component("test_city_entities")
    def city_entities(doc: Doc) -> Doc:
        doc.ents = [Span(doc, t.i, t.i + 1, label="CITY") for t in doc
                    if t.text in ("boston", "dallas", "denver")]
        return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("test_city_entities")
    nlp.add_pipe("trellis_tagger", config={"model": model_path})
    texts = ["flights from boston to atlanta", "flights from dallas to atlanta",
             "flights from atlanta to denver"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        docs = [nlp(text) for text in texts]
    assert [len(doc._.trellis_unaligned) for doc in docs] == [1, 1, 1]
    assert len(caught) == 1 and caught[0].category is TrellisAlignmentWarning
    assert not any(city in str(caught[0].message) for city in ("boston", "dallas", "denver"))


def test_a_doc_tagged_again_keeps_its_entities_without_a_report(nlp) -> None:
    """A Doc run through the pipeline again (stored Docs re-run) holds the very spans the
    tagger gives: they were each reported as overlapping themselves, with a warning."""
    doc = nlp("flights from boston to denver")
    assert len(doc.ents) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = nlp(doc)
    assert entities(again) == entities(doc) and again._.trellis_unaligned == []


def test_nlp_evaluate_scores_the_spans(nlp, model_path) -> None:
    """`nlp.evaluate` gave no figure for the component; it scores `doc.ents` (or the span
    group of `span_key`) against the gold Docs, as spaCy scores its entity recognizer."""

    def examples(key=None, leave_out=()):
        made = []
        for text, spans in GOLD.items():
            gold = [(text.index(words), text.index(words) + len(words), label)
                    for words, label in spans if words not in leave_out]
            annotation = {"spans": {key: gold}} if key else {"entities": gold}
            made.append(Example.from_dict(nlp.make_doc(text), annotation))
        return made

    assert nlp.evaluate(examples())["ents_f"] == 1.0
    scores = nlp.evaluate(examples(leave_out=("atlanta",)))  # 5 of 6 tagged spans are gold
    assert (scores["ents_p"], scores["ents_r"]) == (5 / 6, 1.0)
    assert scores["ents_per_type"]["toloc.city_name"]["p"] == 2 / 3
    grouped = spacy.blank("en")
    grouped.add_pipe("trellis_tagger", config={"model": model_path, "span_key": "trellis"})
    scores = grouped.evaluate(examples("trellis", leave_out=("monday",)))
    assert (scores["spans_trellis_p"], scores["spans_trellis_r"]) == (5 / 6, 1.0)


def test_the_alignment_warning_points_at_the_callers_line(model_path) -> None:
    """At the line of `nlp(text)`, or of the loop reading `nlp.pipe`, however many of spaCy's
    frames (a generator per later component) stand between: it pointed inside the package."""
    nlp = with_city_ruler(model_path)
    nlp.add_pipe("sentencizer")
    text = "show me flights from boston to denver on monday"
    lines = []
    with pytest.warns(TrellisAlignmentWarning) as caught:
        lines.append(sys._getframe().f_lineno + 1)
        nlp(text)
        lines.append(sys._getframe().f_lineno + 1)
        for _ in nlp.pipe([text, text], batch_size=1):
            pass
    assert [(w.filename, w.lineno) for w in caught] == [
        (__file__, lines[0]), (__file__, lines[1]), (__file__, lines[1])]


def test_overwrite_ents_replaces_overlapped_entities(model_path) -> None:
    nlp = with_city_ruler(model_path, overwrite_ents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = nlp("show me flights from boston to denver on monday")
    assert entities(doc) == GOLD["show me flights from boston to denver on monday"]


def test_overwrite_ents_keeps_the_entities_no_span_overlaps(model_path) -> None:
    nlp = with_city_ruler(model_path, {"label": "WHO", "pattern": "me"}, overwrite_ents=True)
    doc = nlp("show me flights from boston to denver on monday")
    assert entities(doc) == [("me", "WHO")] + GOLD[
        "show me flights from boston to denver on monday"]


def test_span_key_keeps_entities_and_writes_a_span_group(model_path) -> None:
    nlp = with_city_ruler(model_path, span_key="trellis")
    doc = nlp("show me flights from boston to denver on monday")
    assert entities(doc) == [("denver", "CITY")]
    assert [(s.text, s.label_) for s in doc.spans["trellis"]] == GOLD[
        "show me flights from boston to denver on monday"]
    assert doc._.trellis_unaligned == []


def test_confidences_reach_the_doc(model_path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path, "confidence": True})
    result = nlp("list flights to atlanta")._.trellis
    assert len(result.confidences) == 4


def sentenced_docs(vocab, test_sentences, per_doc: int = 3) -> list:
    """Docs of `per_doc` test sentences each, their sentence starts set, with a whitespace
    token after each sentence but the last (so a sentence ends in one)."""
    docs = []
    for first in range(0, 60, per_doc):
        words, starts = [], []
        for k, sentence in enumerate(test_sentences[first:first + per_doc]):
            words += sentence + ([] if k == per_doc - 1 else [" "])
            starts += [True] + [False] * (len(sentence) - (k == per_doc - 1))
        docs.append(Doc(vocab, words=words, sent_starts=starts))
    return docs


def test_a_doc_with_sentences_is_tagged_sentence_by_sentence(model_path, tagger,
                                                              test_sentences) -> None:
    """Each sentence is tagged as the tagger tags it alone; `doc._.trellis` is the sentences'
    results joined (spans moved, the probability their product), and reads back from its
    answer line. With per_sentence off, the Doc is one sequence, as before."""
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path, "confidence": True})
    docs = sentenced_docs(nlp.vocab, test_sentences)
    for doc in nlp.pipe(docs):
        sentences = [[t.text for t in sentence if not t.is_space] for sentence in doc.sents]
        alone = tagger.tag(sentences, confidence=True)
        result = doc._.trellis
        assert [label for label in result.labels if label is not None] == [
            label for part in alone for label in part.labels]
        assert [c for c in result.confidences if c is not None] == [
            c for part in alone for c in part.confidences]
        assert result.probability == pytest.approx(
            math.prod(part.probability for part in alone), rel=1e-12)
        assert TaggingResult.from_json_line(result.json_line) == result
        assert [(s.start, s.end, s.text, s.label) for s in result.spans] == [
            (e.start, e.end, e.text, e.label_) for e in doc.ents]
        assert [s.text for s in result.spans] == [
            doc.text[s.start_char:s.end_char] for s in result.spans]
        assert len(result.spans) == sum(len(part.spans) for part in alone)
    whole = spacy.blank("en")
    whole.add_pipe("trellis_tagger", config={"model": model_path, "per_sentence": False})
    for doc in whole.pipe(sentenced_docs(whole.vocab, test_sentences)):
        [alone] = tagger.tag([[t.text for t in doc if not t.is_space]])
        result = doc._.trellis
        assert [label for label in result.labels if label is not None] == alone.labels
        assert [s.label for s in result.spans] == [s.label for s in alone.spans]


def test_configuration_errors(tmp_path) -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="needs a model or a server, not both"):
        nlp.add_pipe("trellis_tagger")
    with pytest.raises(ValueError, match="needs a model or a server, not both"):
        nlp.add_pipe("trellis_tagger", config={"model": "m", "url": "http://127.0.0.1:1"})
    with pytest.raises(ValueError, match="url must be http://HOST"):
        nlp.add_pipe("trellis_tagger", config={"url": "127.0.0.1:8080"})
    # Refused when added: every Doc went to the error handler instead.
    for wrong in (0, 4097):
        with pytest.raises(ValueError, match=r"batch_size must be in 1\.\.\.4096"):
            nlp.add_pipe("trellis_tagger", config={"model": "m", "batch_size": wrong})
    for wrong in (0, 1025):
        with pytest.raises(ValueError, match=r"threads must be in 1\.\.\.1024"):
            nlp.add_pipe("trellis_tagger", config={"model": "m", "threads": wrong})
    # The spans went to doc.spans[""], and doc.ents stayed empty, without a word.
    with pytest.raises(ValueError, match='span_key "" names no span group'):
        nlp.add_pipe("trellis_tagger", config={"model": "m", "span_key": ""})
    # The configured file may be a saved pipeline's, whose directory holds the model: it is
    # loaded, and a missing or damaged one reported, when the component first tags (each
    # time, not only the first).
    not_a_model = tmp_path / "not-a-model"
    not_a_model.write_text("O\n")
    for path, refusal in ((not_a_model, "not-a-model: is not a Trellis model file"),
                          (tmp_path / "missing", "missing: no such model file")):
        nlp = spacy.blank("en")
        nlp.add_pipe("trellis_tagger", config={"model": str(path)})
        for _ in range(2):
            with pytest.raises(trellis.TrellisError, match=refusal):
                nlp("to boston")


def test_a_doc_that_cannot_be_tagged_goes_to_the_error_handler(nlp) -> None:
    """A Doc of more than 100,000 tokens: its error, naming it, is raised (spaCy's
    `raise_error`), or, with `nlp.set_error_handler`, passed to the handler with that Doc
    alone, and the batch's other Docs are tagged."""
    long = "to denver " * 60_000
    texts = ["list flights to atlanta", long, "i want to fly from dallas to san francisco"]
    refused = (r"the Doc starting 'to denver to denver .*': 120000 tokens, more than the "
               r"100000 a sentence may hold")
    with pytest.raises(trellis.TrellisError, match=refused):
        list(nlp.pipe(texts))
    with pytest.raises(trellis.TrellisError, match=refused):
        nlp(long)
    handled = []
    nlp.set_error_handler(lambda *arguments: handled.append(arguments))
    assert [entities(doc) for doc in nlp.pipe(texts)] == [GOLD[texts[0]], GOLD[texts[2]]]
    [(name, component, docs, error)] = handled
    assert (name, component) == ("trellis_tagger", nlp.get_pipe("trellis_tagger"))
    assert [doc.text for doc in docs] == [long] and re.fullmatch(refused, str(error))
    untagged = nlp(long)  # returned, not refused by `nlp` as a pipe's None would be
    assert untagged.text == long and untagged._.trellis is None and len(handled) == 2
    # Tagged sentence by sentence, the sentence is named too.
    sentenced = spacy.blank("en")
    sentenced.add_pipe("sentencizer")
    sentenced.add_pipe("trellis_tagger", config={"model": component.tagger.path})
    with pytest.raises(trellis.TrellisError, match="^sentence 1 of the Doc starting 'to bos"):
        sentenced(f"to boston . {long}. to boston .")


def test_docs_serialise_with_their_results(model_path) -> None:
    """The Doc keeps only what msgpack writes, so `doc._.trellis` (and the unaligned reports)
    survive `Doc.to_bytes` and `DocBin`."""
    nlp = with_city_ruler(model_path, confidence=True)
    with pytest.warns(TrellisAlignmentWarning):
        doc = nlp("show me flights from boston to denver on monday")
    assert doc._.trellis.confidences and doc._.trellis_unaligned
    copies = [Doc(nlp.vocab).from_bytes(doc.to_bytes()),
              *DocBin(store_user_data=True, docs=[doc]).get_docs(nlp.vocab)]
    for copy in copies:
        assert copy._.trellis == doc._.trellis and copy._.trellis.spans
        assert list(copy._.trellis_unaligned) == doc._.trellis_unaligned  # msgpack: tuple
        assert entities(copy) == entities(doc)


def run_script(code: str, *arguments: str) -> str:
    """The standard output of `code` run as a script (as `__main__`) in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                          text=True, check=False, env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pipe_with_two_processes_gives_one_processs_docs(model_path) -> None:
    """One process first, so the two worker processes are forked after the parent tagged (a
    case that hung in the library before it restarted its thread in a forked child)."""
    code = (
        "import json, sys, spacy\n"
        "if __name__ == '__main__':\n"
        "    nlp = spacy.blank('en')\n"
        "    nlp.add_pipe('trellis_tagger', config={'model': sys.argv[1], 'confidence': True})\n"
        "    texts = [*json.loads(sys.argv[2])] * 4\n"
        "    docs = [list(nlp.pipe(texts, n_process=n, batch_size=2)) for n in (1, 2)]\n"
        "    assert [d._.trellis for d in docs[0]] == [d._.trellis for d in docs[1]]\n"
        "    print(json.dumps([[[(e.text, e.label_) for e in d.ents] for d in run]\n"
        "                      for run in docs]))\n"
    )
    one, two = json.loads(run_script(code, model_path, json.dumps(list(GOLD))))
    assert one == two == [[list(e) for e in gold] for gold in GOLD.values()] * 4


def test_a_pickled_pipeline_loads_the_model_afresh(nlp, tmp_path) -> None:
    """Unpickled in another process (a crash before: the pickle held this process's handle),
    and a copy that outlives its original in the same process."""
    pickled = tmp_path / "nlp.pickle"
    pickled.write_bytes(pickle.dumps(nlp))
    code = (
        "import copy, gc, json, pickle, sys\n"
        "nlp = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "twin = pickle.loads(pickle.dumps(nlp))\n"
        "del nlp\n"
        "gc.collect()\n"
        "print(json.dumps([[(e.text, e.label_) for e in twin(text).ents]\n"
        "                  for text in json.loads(sys.argv[2])]))\n"
    )
    tagged = json.loads(run_script(code, str(pickled), json.dumps(list(GOLD))))
    assert tagged == [[list(e) for e in gold] for gold in GOLD.values()]
