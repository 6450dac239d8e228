"""Python's results are the CLI's: the same library function answers both."""

from __future__ import annotations

import json
import math
from typing import List

from conftest import run_cli


def requests_for(sentences: List[List[str]]) -> bytes:
    """The requests `Tagger.tag` sends, as a file for `trellis tag --input jsonl`."""
    return "".join(
        json.dumps({"tokens": tokens}, ensure_ascii=False, separators=(",", ":")) + "\n"
        for tokens in sentences
    ).encode()


def test_tag_equals_cli_on_the_test_split(tagger, model_path, test_sentences) -> None:
    cli = run_cli("tag", "--model", model_path, "--input", "jsonl",
                  stdin=requests_for(test_sentences)).decode().splitlines()
    results = tagger.tag(test_sentences)
    assert len(results) == len(cli) == 1000
    assert [result.json_line for result in results] == cli
    for result, line in zip(results, cli):
        expected = json.loads(line)
        assert json.dumps(result.as_dict()) == json.dumps(expected)
        assert result.labels == expected["labels"] and result.tokens == expected["tokens"]
        assert [(s.label, s.start, s.end, s.text) for s in result.spans] == [
            (s["label"], s["start"], s["end"], s["text"]) for s in expected["spans"]
        ]
    assert sum(len(result.spans) for result in results) > 3000


def test_confidence_and_nbest_equal_cli(tagger, model_path, test_sentences) -> None:
    """Confidences depend (within the documented 1e-4) on which sentences share a forward
    pass: with the same passes, here one of 200 sentences, the digits are the CLI's."""
    sample = test_sentences[:200]
    cli = run_cli("tag", "--model", model_path, "--input", "jsonl", "--confidence",
                  "--nbest", "3", "--batch-size", "200",
                  stdin=requests_for(sample)).decode().splitlines()
    one_pass = tagger.tag(sample, confidence=True, nbest=3, batch_size=200)
    assert [result.json_line for result in one_pass] == cli
    default_batches = tagger.tag(sample, confidence=True, nbest=3)
    for result, line in zip(default_batches, cli):
        expected = json.loads(line)
        assert result.labels == expected["labels"]
        assert len(result.confidences) == len(result.tokens)
        assert all(math.isclose(a, b, abs_tol=1e-4)
                   for a, b in zip(result.confidences, expected["confidences"]))
        assert [a.labels for a in result.nbest] == [a["labels"] for a in expected["nbest"]]
        assert result.nbest[0].labels == result.labels
        assert 0 < result.probability <= 1


def test_nbest_one_is_a_one_sequence_list_as_in_the_cli(tagger, model_path,
                                                        test_sentences) -> None:
    """`nbest=K` means what `--nbest K` means: 1 asks for a list of one sequence, 0 for none."""
    sample = test_sentences[:20]
    cli = run_cli("tag", "--model", model_path, "--input", "jsonl", "--nbest", "1",
                  stdin=requests_for(sample)).decode().splitlines()
    results = tagger.tag(sample, nbest=1)
    assert [result.json_line for result in results] == cli
    assert all(len(result.nbest) == 1 and result.nbest[0].labels == result.labels
               for result in results)
    assert all(result.nbest == [] for result in tagger.tag(sample))


def test_tag_texts_equals_cli(tagger, model_path) -> None:
    texts = [
        "Show me flights from Boston to Denver on Monday, please.",
        "i'd like a flight to san francisco at 10:30 am",
        "what's the fare from zürich to new york? 🙂",
        "",
    ]
    stdin = "".join(json.dumps({"text": text}) + "\n" for text in texts).encode()
    cli = run_cli("tag", "--model", model_path, "--input", "jsonl", stdin=stdin)
    results = tagger.tag_texts(texts)
    assert [result.json_line for result in results] == cli.decode().splitlines()
    for text, result in zip(texts, results):
        assert result.text == text
        for span in result.spans:
            assert text[span.start_char:span.end_char] == span.text


def test_confidence_without_nbest_equals_cli(tagger, model_path, test_sentences) -> None:
    """Without nbest, `tag` takes the token call; its answer lines are still the CLI's."""
    sample = test_sentences[:200]
    cli = run_cli("tag", "--model", model_path, "--input", "jsonl", "--confidence",
                  "--batch-size", "200", stdin=requests_for(sample)).decode().splitlines()
    assert [r.json_line for r in tagger.tag(sample, confidence=True, batch_size=200)] == cli
