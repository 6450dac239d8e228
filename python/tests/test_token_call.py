"""`Tagger.tag` without n-best lists goes through `trellis_tag_tokens` (no JSON): its results
must be those of the JSON-lines call, which the CLI equality tests pin to the CLI."""

from __future__ import annotations

import json
from array import array
from typing import List

import pytest

import trellis
from conftest import CORPUS, run_cli
from trellis import _library
from trellis.results import TaggingResult


def through_json(tagger: trellis.Tagger, sentences: List[List[str]], **options) -> list:
    """The results of the JSON-lines call for `sentences` (what `tag` gave before)."""
    requests = "\n".join(json.dumps({"tokens": s}, ensure_ascii=False) for s in sentences)
    answers = tagger.tag_json_lines(requests, {"batch_size": 32, **options})
    return [TaggingResult.from_json_line(line) for line in answers.splitlines()]


def test_the_token_call_gives_the_json_calls_results(tagger, test_sentences) -> None:
    sample = test_sentences[:300]
    assert tagger.tag(sample) == through_json(tagger, sample)
    assert tagger.tag(sample, constrained=False) == through_json(
        tagger, sample, constrained=False)
    # Confidences are the JSON call's to the bit for the same forward passes.
    with_confidence = tagger.tag(sample, confidence=True, batch_size=300)
    assert with_confidence == through_json(tagger, sample, confidence=True, batch_size=300)
    assert all(len(r.confidences) == len(r.tokens) and 0 < r.probability <= 1
               for r in with_confidence)


def test_results_are_written_lazily_but_compare_and_print_in_full(tagger) -> None:
    [lazy] = tagger.tag([["flights", "from", "boston", "to", "denver"]])
    [eager] = through_json(tagger, [["flights", "from", "boston", "to", "denver"]])
    assert lazy._spans is None and lazy._json_line is None
    assert repr(lazy) == repr(eager) and lazy == eager
    assert lazy.as_dict() == eager.as_dict() and len(lazy.spans) == len(eager.spans) > 0
    lazy.spans = []
    assert lazy.spans == [] and lazy != eager


def test_unicode_and_empty_tokens_and_sentences(tagger) -> None:
    sentences = [["zürich", "🙂", "", "e\u0301", "boston"], [], ("to", "new", "york"), []]
    for confidence in (False, True):
        results = tagger.tag(sentences, confidence=confidence)
        assert results[0]._json_line is None, "the token call answered"
        assert results == through_json(tagger, [list(s) for s in sentences],
                                       confidence=confidence)
    # An empty sentence's one labelling, the empty one, has probability 1.
    assert results[1].confidences == [] and results[1].probability == 1
    assert results[0].tokens == sentences[0] and results[2].tokens == ["to", "new", "york"]
    joined = " ".join(results[0].tokens)
    for span in results[0].spans:
        assert joined[span.start_char:span.end_char] == span.text


def test_unicode_line_ends_are_escaped_as_the_library_escapes_them(tagger) -> None:
    """U+0085, U+2028 and U+2029 are escaped in the library's answer lines; the line written
    for a token call left them raw."""
    sentences = [["\u2028"], ["a\u0085b", "c\u2029"]]
    requests = "\n".join('{"tokens":' + json.dumps(s) + "}" for s in sentences)
    lines = tagger.tag_json_lines(requests).split("\n")[:-1]
    assert "\\u2028" in lines[0]
    assert [result.json_line for result in tagger.tag(sentences)] == lines


def test_tokens_holding_nul_go_through_the_json_call(tagger) -> None:
    sentences = [["a\0b", "to", "denver"], ["boston"]]
    results = tagger.tag(sentences)
    assert results[0]._json_line is not None, "the JSON call answered"
    assert results == through_json(tagger, sentences)
    assert results[0].tokens[0] == "a\0b" and '"a\\u0000b"' in results[0].json_line


def test_empty_batches_and_sentences(tagger) -> None:
    assert tagger.tag([]) == tagger.tag([], confidence=True) == []
    assert [r.json_line for r in tagger.tag([[], []], confidence=True)] == [
        '{"confidences":[],"labels":[],"probability":1,"spans":[],"tokens":[]}'] * 2
    assert [r.json_line for r in tagger.tag([[]])] == ['{"labels":[],"spans":[],"tokens":[]}']
    [listed] = tagger.tag([[]], nbest=3)
    assert [(a.labels, a.score, a.probability) for a in listed.nbest] == [([], 0, 1)]


def test_token_call_errors_are_exceptions(tagger) -> None:
    one = array("i", [1])
    with tagger._live_handle() as handle:
        with pytest.raises(trellis.TrellisError, match='"batch_size" must be in 1...4096'):
            _library.tag_tokens(handle, b"boston\0", one, 0, 0)
        with pytest.raises(trellis.TrellisError, match="not valid UTF-8"):
            _library.tag_tokens(handle, b"\xff\0", one, 32, 0)
        with pytest.raises(trellis.TrellisError, match="bytes after the last token"):
            _library.tag_tokens(handle, b"to\0boston\0", one, 32, 0)
        with pytest.raises(trellis.TrellisError, match="flags"):
            _library.tag_tokens(handle, b"boston\0", one, 32, 8)
    with pytest.raises(trellis.TrellisError, match="NULL handle"):
        _library.tag_tokens(0, b"boston\0", one, 32, 0)
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate, as through the JSON call
        tagger.tag([["\ud800"]])


def test_a_model_trained_in_another_scheme_answers_in_its_datas(tmp_path) -> None:
    """Trained in BIOES on BIO data, the model's own labels are BIOES and its answers BIO: the
    token call's label ids index "outputLabels", the BIO labels it can write, which `labels`
    lists (it listed the model's BIOES labels, and left out BIO labels it printed)."""
    path = str(tmp_path / "bioes.model")
    run_cli("train", "--train", str(CORPUS / "train.conll"), "--model", path, "--scheme",
            "bioes", "--epochs", "1", "--embedding-size", "16", "--hidden-size", "16",
            "--character-filters", "0", "--seed", "1", "--quiet")
    with trellis.Tagger(path) as bioes:
        assert any(label.startswith("S-") for label in bioes.info["labels"])
        assert bioes.labels == bioes.info["outputLabels"]
        assert not any(label[:2] in ("E-", "S-") for label in bioes.labels)
        sentences = [["flights", "from", "boston", "to", "san", "francisco"], ["atlanta"]]
        results = bioes.tag(sentences)
        printed = {label for r in bioes.tag(sentences, nbest=50) for path in r.nbest
                   for label in path.labels}
        assert printed <= set(bioes.labels)
        assert results == through_json(bioes, sentences)
        assert all(label[:2] in ("O", "B-", "I-") for r in results for label in r.labels)
