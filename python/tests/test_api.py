"""The Python API: model information, argument checks and errors as exceptions."""

from __future__ import annotations

import copy
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from collections import deque
from importlib import metadata
from pathlib import Path

import pytest
import spacy

import trellis
from conftest import CORPUS, REPOSITORY, run_cli
from trellis import _library


def test_version_is_the_library_and_distribution_version() -> None:
    version = trellis.version()
    assert version.count(".") == 2
    assert metadata.version("trellis-tagger") == version
    swift = (REPOSITORY / "Sources" / "Trellis" / "Trellis.swift").read_text()
    assert f'trellisVersion = "{version}"' in swift


def test_labels_and_info(tagger, model_path) -> None:
    assert "O" in tagger.labels and "B-fromloc.city_name" in tagger.labels
    info = tagger.info
    assert info["labels"] == tagger.labels
    assert info["configuration"]["head"] == "crf"
    assert info["configuration"]["encoder"] == "bilstm"
    assert info["definesProbabilities"] is True
    assert info["file"] == model_path
    assert "blas" not in info, "naming OpenBLAS's kernels opened it at every load"
    provenance = info["provenance"]
    assert provenance["trellisVersion"] == trellis.version()
    assert [i["path"] for i in provenance["inputs"]] == [
        str(CORPUS / "train.conll"), str(CORPUS / "dev.conll")
    ]
    # The CLI's description, member for member, the token call's tables included.
    assert info == json.loads(run_cli("info", "--json", model_path))
    info["labels"].clear()
    assert tagger.labels, "info is a copy"


def test_results_have_every_field(tagger) -> None:
    [result] = tagger.tag([["flights", "from", "boston", "to", "denver"]], confidence=True,
                          nbest=4)
    assert result.tokens == ["flights", "from", "boston", "to", "denver"]
    assert len(result.labels) == len(result.confidences) == 5
    assert all(0 <= c <= 1 for c in result.confidences)
    assert len(result.nbest) == 4 and result.nbest[0].labels == result.labels
    assert result.nbest[0].score >= result.nbest[1].score
    joined = " ".join(result.tokens)
    for span in result.spans:
        assert joined[span.start_char:span.end_char] == span.text
        assert " ".join(result.tokens[span.start:span.end]) == span.text
    [plain] = tagger.tag([("flights", "to", "boston")])
    assert plain.confidences is None and plain.probability is None and plain.nbest == []
    [from_deque] = tagger.tag([deque(["flights", "to", "boston"])])
    assert from_deque.json_line == plain.json_line


def test_empty_inputs(tagger) -> None:
    assert tagger.tag([]) == []
    assert tagger.tag_texts([]) == []
    [empty] = tagger.tag([[]], confidence=True)
    assert empty.tokens == empty.labels == empty.spans == empty.confidences == []
    assert empty.probability == 1


def test_loading_errors_carry_the_library_message(tmp_path) -> None:
    with pytest.raises(trellis.TrellisError, match="no such model file") as missing:
        trellis.Tagger(str(tmp_path / "missing.model"))
    assert str(tmp_path / "missing.model") in missing.value.message
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("not a model\n")
    with pytest.raises(trellis.TrellisError, match="not a Trellis model file"):
        trellis.Tagger(str(not_a_model))


def test_threads_reach_the_library_and_change_nothing(tagger, monkeypatch) -> None:
    sentences = [["flights", "to", "boston"], ["from", "denver", "on", "monday"]]
    default = tagger.tag(sentences, confidence=True)
    seen = []
    tag_tokens, tag_jsonl = _library.tag_tokens, _library.tag_jsonl
    monkeypatch.setattr(_library, "tag_tokens", lambda *a: seen.append(a[-1]) or tag_tokens(*a))
    monkeypatch.setattr(_library, "tag_jsonl",
                        lambda h, r, o: seen.append(json.loads(o)) or tag_jsonl(h, r, o))
    for threads in (1, 2):
        assert tagger.tag(sentences, confidence=True, threads=threads) == default
        assert (tagger.tag(sentences, nbest=2, threads=threads)
                == tagger.tag(sentences, nbest=2))
        assert (tagger.tag_texts(["to boston"], threads=threads)
                == tagger.tag_texts(["to boston"]))
    flags = [entry for entry in seen if isinstance(entry, int)]
    options = [entry for entry in seen if isinstance(entry, dict)]
    assert [flag >> _library.THREADS_SHIFT for flag in flags] == [1, 2]
    assert [entry.get("threads") for entry in options] == [1, None, 1, None, 2, None, 2, None]
    for bad, error in ((0, ValueError), (1025, ValueError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="threads"):
            tagger.tag(sentences, threads=bad)
        with pytest.raises(error, match="threads"):
            tagger.tag_texts(["to boston"], threads=bad)


def test_argument_errors(tagger) -> None:
    with pytest.raises(TypeError, match="token lists"):
        tagger.tag("flights to boston")
    with pytest.raises(TypeError, match="sentence 1 is a string"):
        tagger.tag([["to", "boston"], "to boston"])
    with pytest.raises(TypeError, match="^sentence 1 is bytes; pass token lists of str"):
        tagger.tag([["to", "boston"], b"to boston"])
    # A dict's keys were tagged as its sentences.
    with pytest.raises(TypeError, match=r"not a dict; pass list\(sentences.values\(\)\)"):
        tagger.tag({"first": ["to", "boston"]})
    with pytest.raises(TypeError, match="one text"):
        tagger.tag_texts("flights to boston")
    with pytest.raises(ValueError, match="nbest"):
        tagger.tag([["boston"]], nbest=-1)
    for not_a_count in (1.0, 2.0, True, "2"):
        with pytest.raises(TypeError, match="nbest must be an int"):
            tagger.tag([["boston"]], nbest=not_a_count)
        with pytest.raises(TypeError, match="nbest must be an int"):
            tagger.tag_texts(["boston"], nbest=not_a_count)
    # NumPy's integers are counts (they were refused); its bools, like Python's, are not.
    import numpy

    sentences = [["flights", "to", "boston"], ["from", "denver"]]
    for count in (numpy.int64(2), numpy.uint8(2)):
        assert tagger.tag(sentences, nbest=count, batch_size=count, threads=count) == \
            tagger.tag(sentences, nbest=2, batch_size=2, threads=2)
    for not_a_count in (numpy.bool_(True), numpy.float64(2.0)):
        for option in ("nbest", "batch_size", "threads"):
            with pytest.raises(TypeError, match=f"{option} must be an int"):
                tagger.tag(sentences, **{option: not_a_count})
    # A flag that is not a bool was taken by its truth: "no" asked for confidences.
    for flag in ("confidence", "constrained"):
        for not_a_bool in ("no", 1, None):
            for tag in (lambda **o: tagger.tag([["boston"]], **o),
                        lambda **o: tagger.tag_texts(["boston"], **o)):
                with pytest.raises(TypeError, match=f"^{flag} must be a bool, not "
                                                    f"{type(not_a_bool).__name__}$"):
                    tag(**{flag: not_a_bool})
    with pytest.raises(trellis.TrellisError, match='"nbest" must be in 0...1000'):
        tagger.tag([["boston"]], nbest=5000)
    # An integer beyond 64 bits was "not an integer"; a type from outside Python named only
    # by its name was "a bool, not bool".
    with pytest.raises(trellis.TrellisError, match='"nbest" must be in its range'):
        tagger.tag([["boston"]], nbest=10**20)
    numpy = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match=r"^confidence must be a bool, not numpy\.bool_?$"):
        tagger.tag([["boston"]], confidence=numpy.bool_(True))
    # A sentence that is not an ordered collection of strings, named with its token: bytes
    # and a spaCy Token stopped the JSON encoder with no index, NaN reached the library as
    # invalid JSON, and a set was tagged in its own order.
    for options in ({}, {"nbest": 2}):
        for token, name in ((3, "int"), (b"boston", "bytes"), (float("nan"), "float"),
                            (None, "NoneType"),
                            (spacy.blank("en")("boston")[0], "spacy.tokens.token.Token")):
            with pytest.raises(TypeError, match=rf"^sentence 1, token 1 is "
                                                rf"{re.escape(name)}, not str$"):
                tagger.tag([["boston"], ["to", token]], **options)
        for unordered in ({"to", "boston"}, frozenset(), {"to": 1}, {}.keys()):
            with pytest.raises(TypeError, match=rf"^sentence 1 is a {type(unordered).__name__}, "
                                                "whose order is not the sentence's"):
                tagger.tag([["boston"], unordered], **options)
        with pytest.raises(TypeError, match="^sentence 0 is int, not a list of tokens$"):
            tagger.tag([3], **options)
    with pytest.raises(trellis.TrellisError, match='unknown key "nbets"'):
        tagger.tag_json_lines('{"tokens":["boston"]}', {"nbets": 2})
    # Counts are integers, as `tag`'s and the HTTP service's: 1.0 was taken for 1.
    for option in ("nbest", "batch_size", "threads"):
        with pytest.raises(trellis.TrellisError, match=f'"{option}" must be an integer'):
            tagger.tag_json_lines('{"tokens":["boston"]}', {option: 1.0})


def test_a_sentence_longer_than_a_sentence_may_be_is_refused(tagger) -> None:
    """More than 100,000 tokens (the library's Sentence.tokenLimit) is refused by the token
    call, the JSON call (for n-best lists) and texts alike, before any tagging."""
    too_long = ["boston"] * 100_001
    refused = "sentence 1: 100001 tokens, more than the 100000 a sentence may hold"
    with pytest.raises(trellis.TrellisError, match=refused):
        tagger.tag([["to", "boston"], too_long])
    with pytest.raises(trellis.TrellisError, match=refused):
        tagger.tag([["to", "boston"], too_long], nbest=2)
    # A text's error names the text, as Python's own checks of texts do.
    with pytest.raises(trellis.TrellisError, match=refused.replace("sentence", "text", 1)):
        tagger.tag_texts(["to boston", " ".join(too_long)])


def test_a_cut_nbest_list_says_so(tagger) -> None:
    """A long sentence's list is cut to 2**25 / (tokens x labels) sequences and says so; a
    list short because the sentence has no more sequences does not."""
    tokens = 2**25 // (len(tagger.labels) * 250)
    [cut] = tagger.tag([["boston"] * tokens], nbest=500)
    assert 1 <= len(cut.nbest) < 500 and cut.nbest_truncated
    assert '"nbest_truncated":true' in cut.json_line
    [whole] = tagger.tag([["boston"]], nbest=500)
    assert len(whole.nbest) < 500 and not whole.nbest_truncated
    assert "nbest_truncated" not in whole.json_line


def test_sentences_may_be_any_iterable(tagger) -> None:
    sentences = [["to", "boston"], ["to", "denver"], ["from", "dallas"]]
    expected = tagger.tag(sentences)
    assert len(expected) == 3
    assert tagger.tag(iter(sentences)) == expected
    assert tagger.tag(tuple(s) for s in sentences) == expected
    # A sentence that is itself an iterator goes through the JSON call.
    assert tagger.tag(s for s in [sentences[0], iter(sentences[1]), sentences[2]]) == expected
    assert tagger.tag(iter(sentences), nbest=2) == tagger.tag(sentences, nbest=2)


def test_batch_size_is_checked_before_any_call(tagger, monkeypatch) -> None:
    def no_call(*arguments: object) -> None:
        raise AssertionError("the library was called")

    monkeypatch.setattr(_library, "tag_tokens", no_call)
    monkeypatch.setattr(_library, "tag_jsonl", no_call)
    for options in ({}, {"confidence": True}, {"nbest": 2}):
        for tag in (lambda **o: tagger.tag([["boston"]], **o),
                    lambda **o: tagger.tag_texts(["to boston"], **o)):
            for wrong_type in (None, "32", 1.5, True):
                with pytest.raises(TypeError, match="batch_size must be an int"):
                    tag(batch_size=wrong_type, **options)
            for out_of_range in (0, 4097, 2**32 + 32):
                with pytest.raises(ValueError, match=r"batch_size must be in 1\.\.\.4096"):
                    tag(batch_size=out_of_range, **options)


def test_model_paths_are_str_bytes_or_path_objects(tagger, model_path) -> None:
    for wrong in (None, 123):
        with pytest.raises(TypeError, match="str, bytes or os.PathLike"):
            trellis.Tagger(wrong)
    for path in (os.fsencode(model_path), Path(model_path)):
        with trellis.Tagger(path) as loaded:
            assert loaded.path == model_path and loaded.info["file"] == model_path
    with pytest.raises(ValueError, match="embedded null byte"):
        trellis.Tagger(model_path + "\0junk")
    with pytest.raises(TypeError, match="requests must be a str"):
        tagger.tag_json_lines(None)


def test_requests_holding_nul_are_refused(tagger) -> None:
    """The C string would end at the NUL: the lines after it went untagged, silently."""
    with pytest.raises(ValueError, match="requests line 2 holds a NUL character"):
        tagger.tag_json_lines('{"tokens":["boston"]}\n\0{"tokens":["denver"]}\n')
    # Options are JSON, which escapes a NUL; so are the requests `tag` and `tag_texts` write.
    assert "\\u0000" in tagger.tag_json_lines('{"id":"a\\u0000b","tokens":["boston"]}',
                                               {"batch_size": 1})
    assert tagger.tag([["to", "bos\0ton"]], nbest=1)[0].tokens == ["to", "bos\0ton"]
    assert tagger.tag_texts(["to bos\0ton"])[0].text == "to bos\0ton"


def test_a_relative_model_path_still_names_the_file_after_chdir(model_path, tmp_path,
                                                                monkeypatch) -> None:
    """The path is kept as given (`path`, repr, info "file"), and the file opened again by
    its absolute path (copies, pickles, `copy_model_file`). "link/.." goes to link's target's
    parent, which `os.path.abspath` would have dropped by the letters."""
    (tmp_path / "models" / "inner").mkdir(parents=True)
    shutil.copy(model_path, tmp_path / "models" / "m.model")
    (tmp_path / "link").symlink_to(tmp_path / "models" / "inner")
    monkeypatch.chdir(tmp_path)
    with trellis.Tagger("link/../m.model") as tagger:
        monkeypatch.chdir("/")
        assert tagger.path == tagger.info["file"] == "link/../m.model"
        assert repr(tagger) == "Tagger('link/../m.model')"
        expected = tagger.tag([["to", "boston"]])
        for make in (copy.copy, copy.deepcopy, lambda t: pickle.loads(pickle.dumps(t))):
            with make(tagger) as duplicate:
                assert duplicate.path == str(tmp_path / "link/../m.model")
                assert duplicate.tag([["to", "boston"]]) == expected
        tagger.copy_model_file(tmp_path / "copy.model")
        assert (tmp_path / "copy.model").read_bytes() == tagger.model_bytes() == \
            open(model_path, "rb").read()


def test_lone_surrogates_are_located(tagger) -> None:
    sentences = [["boston"], ["to", "new", "york\ud800"]]
    for options in ({}, {"confidence": True}, {"nbest": 2}):
        with pytest.raises(ValueError, match=r"sentence 1, token 2 is not valid Unicode "
                                             r"\(a lone surrogate\)"):
            tagger.tag(sentences, **options)
    with pytest.raises(ValueError, match=r"text 1 is not valid Unicode \(a lone surrogate\)"):
        tagger.tag_texts(["to boston", "\udc80 to denver"])
    # JSON lines by their line (UTF-8's error gave a position in them all).
    with pytest.raises(UnicodeEncodeError, match=r"in position 18: requests line 3 is not "
                                                  r"valid Unicode \(a lone surrogate\)$") as caught:
        tagger.tag_json_lines('{"text":"to boston"}\n\n{"text":"to denver\ud800"}\n{}\n')
    assert caught.value.object == '{"text":"to denver\ud800"}'


def test_copies_and_pickles_load_the_model_afresh(tagger, model_path, tmp_path) -> None:
    """Each copy owns its handle, so deleting one leaves the others working; a pickle
    unpickled in another process loads the model there (a crash, not an error, before)."""
    pickled = tmp_path / "tagger.pickle"
    pickled.write_bytes(pickle.dumps(tagger))
    code = (
        "import copy, gc, json, pickle, sys, trellis\n"
        "original = trellis.Tagger(sys.argv[1])\n"
        "for make in (copy.copy, copy.deepcopy, lambda t: pickle.loads(pickle.dumps(t))):\n"
        "    duplicate = make(original)\n"
        "    assert duplicate._handle != original._handle and duplicate.path == sys.argv[1]\n"
        "    assert duplicate.tag([['to', 'boston']]) == original.tag([['to', 'boston']])\n"
        "    del duplicate\n"
        "    gc.collect()\n"
        "unpickled = pickle.loads(open(sys.argv[2], 'rb').read())\n"
        "print(json.dumps([original.tag([['to', 'boston']])[0].labels,\n"
        "                  unpickled.tag([['to', 'boston']])[0].labels]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, model_path, str(pickled)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [tagger.tag([["to", "boston"]])[0].labels] * 2


def test_a_pickle_holds_the_model_file_it_was_made_from(model_path, tmp_path) -> None:
    """Unpickling loaded whatever file was at the path by then, so a copy (a pipeline sent to
    `nlp.pipe(n_process=2)`'s spawned workers) tagged with another model without a word. A
    pickle is refused where the file holds other bytes, and pickling once the file changed;
    the same bytes in another file (another machine's copy) are the same model."""
    other = tmp_path / "other.model"
    run_cli("train", "--train", str(CORPUS / "dev.conll"), "--model", str(other), "--epochs",
            "1", "--embedding-size", "8", "--hidden-size", "8", "--character-filters", "0",
            "--seed", "1", "--quiet")
    path = tmp_path / "m.model"
    shutil.copy(model_path, path)
    tagger = trellis.Tagger(str(path))
    pickled = pickle.dumps(tagger)
    shutil.copy(model_path, tmp_path / "same.model")
    os.replace(tmp_path / "same.model", path)
    with pickle.loads(pickled) as same:
        assert same.tag([["to", "boston"]]) == tagger.tag([["to", "boston"]])
    shutil.copy(other, tmp_path / "new.model")
    os.replace(tmp_path / "new.model", path)
    with pytest.raises(trellis.TrellisError, match=re.escape(
            f"{path}: the model file changed after the pickled tagger loaded it")):
        pickle.loads(pickled)
    for make in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(trellis.TrellisError, match=re.escape(
                f"{path}: the model file changed after it was loaded")):
            make(tagger)
    # A file gone is a TrellisError too (it was a bare FileNotFoundError), as for saving.
    os.remove(path)
    for make in (pickle.dumps, copy.copy, lambda t: t.copy_model_file(tmp_path / "copy")):
        with pytest.raises(trellis.TrellisError, match=re.escape(
                f"{path}: the model file cannot be read (No such file or directory)")):
            make(tagger)


def test_bad_lines_are_answered_with_errors(tagger) -> None:
    answers = tagger.tag_json_lines('{"id":1,"tokens":["boston"]}\n{"id":2}\n').splitlines()
    assert answers[0].startswith('{"id":1,"labels":')
    assert answers[1] == (
        '{"id":2,"error":"give \\"tokens\\" (an array of strings) or \\"text\\" (a string)"}'
    )


def test_the_json_scanner_agrees_with_pythons_json(tagger) -> None:
    """Every line's verdict (answered, or answered with "error") is Python's `json` on the
    same line, for 3,000 seeded random values, a third of them one character off valid JSON:
    numbers, escapes, literals, nesting and whitespace, a lone CR included. Python also takes
    what Trellis refuses as RFC 8259 does not allow it: NaN, Infinity and lone surrogates."""
    import random

    atoms = ["0", "-0", "1.5", "2.0e+00", "1E-5", "01", "1.", ".5", "-", "+1", "1e", "0x1",
             "123456789012345678901234567890", "true", "false", "null", "nul", "NaN",
             "Infinity", '"a"', '""', r'"\n"', r'"\u00e9"', r'"\ud800"', r'"\ud83d\ude00"',
             r'"\x"', r'"\u12"', r'"\/"', '"\t"', '"\x01"', '"é"', "'a'", "[]", "{}", "[1,]",
             '{"a":1,}', '{"a"}', "{1:2}", "[1 2]", " 1", "\t1", "\r1", "\x0c1", "\u00a01"]
    rng = random.Random(7)

    def value(depth: int = 0) -> str:
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return rng.choice(atoms)
        if roll < 0.75:
            return "[" + ",".join(value(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        members = (f'"{rng.choice("abc")}":{value(depth + 1)}' for _ in range(rng.randint(0, 3)))
        return "{" + ",".join(members) + "}"

    def off_by_one(text: str) -> str:
        where = rng.randrange(len(text) + 1)
        return text[:where] + rng.choice('[]{},:"\\ 0e.-\r\t') + text[where:]

    def python_accepts(line: str) -> bool:
        def refuse(constant: str) -> None:
            raise ValueError(constant)

        def check_strings(item) -> None:
            if isinstance(item, str):
                item.encode("utf-8")  # a lone surrogate raises
            for inner in item.items() if isinstance(item, dict) else (
                    item if isinstance(item, (list, tuple)) else ()):
                check_strings(inner)

        try:
            check_strings(json.loads(line, parse_constant=refuse))
            return True
        except (ValueError, UnicodeEncodeError):
            return False

    values = [value() for _ in range(3000)]
    lines = [f'{{"tokens": ["boston"], "x": {off_by_one(v) if i % 3 == 0 else v}}}'
             for i, v in enumerate(values)]
    answers = tagger.tag_json_lines("\n".join(lines) + "\n").split("\n")[:-1]
    assert len(answers) == len(lines)
    verdicts = [("error" not in json.loads(answer), python_accepts(line))
                for answer, line in zip(answers, lines)]
    disagreements = [(line, answer) for (ours, python), line, answer
                     in zip(verdicts, lines, answers) if ours != python]
    assert not disagreements, disagreements[:3]
    assert 500 < sum(ours for ours, _ in verdicts) < len(lines) - 500


def test_a_closed_tagger_refuses_work(model_path) -> None:
    with trellis.Tagger(model_path) as closing:
        assert closing.tag([["boston"]])
    with pytest.raises(trellis.TrellisError, match="closed"):
        closing.tag([["boston"]])
    closing.close()


def test_close_says_what_stays_available(model_path) -> None:
    closing = trellis.Tagger(model_path)
    closing.close()
    for call in (lambda: closing.tag_texts(["boston"]),
                 lambda: closing.tag_json_lines('{"tokens":["boston"]}')):
        with pytest.raises(trellis.TrellisError, match="closed"):
            call()
    assert closing.labels and closing.info["labels"] == closing.labels
    assert "`labels` and `info`" in trellis.Tagger.close.__doc__


@pytest.mark.parametrize("option, limit", [
    ("batch_size", _library.BATCH_SIZE_LIMIT),  # Swift's TaggingOptions.batchSizeLimit
    ("threads", _library.THREADS_LIMIT),  # Swift's TaggingOptions.threadsLimit
])
def test_the_limits_tagger_checks_are_the_librarys(tagger, option, limit) -> None:
    """The limits `Tagger` checks before any call mirror Swift's: the library itself takes
    each and refuses one more."""
    request = '{"tokens": ["boston"]}'
    assert '"labels"' in tagger.tag_json_lines(request, {option: limit})
    with pytest.raises(trellis.TrellisError, match=rf"1\.\.\.{limit}\b"):
        tagger.tag_json_lines(request, {option: limit + 1})


def test_a_result_made_by_the_caller_writes_its_answer_line() -> None:
    """Its answer line was "" (not written when first read), so `as_dict` raised json's
    error."""
    result = trellis.TaggingResult(["to", "boston"], ["O", "B-city"],
                                   [trellis.Span("city", 1, 2, "boston")])
    assert result.as_dict()["spans"][0]["text"] == "boston"
    assert trellis.TaggingResult.from_json_line(result.json_line).labels == ["O", "B-city"]


def test_the_default_batch_size_is_the_librarys() -> None:
    """`_library.BATCH_SIZE`, the Python calls' and the spaCy component's default, is the
    one `trellis tag --batch-size` documents (Swift's `TaggingOptions.batchSize`)."""
    usage = " ".join(run_cli("tag", "--help").decode().split())
    documented = re.search(r"--batch-size <batch-size> .*?\(default: (\d+)\)", usage)
    assert documented and int(documented.group(1)) == _library.BATCH_SIZE


def test_results_hold_plain_strings_whichever_call_made_them(tagger) -> None:
    """NumPy's strings are str; the token call's results kept them, the JSON call's did not.
    A str subclass's text is its content, not its __str__ (an enum member's "City.BOSTON")."""
    import enum

    numpy = pytest.importorskip("numpy")

    class City(str, enum.Enum):
        BOSTON = "boston"

    for tokens in (list(numpy.array(["flights", "to", "boston"])), ["flights", "to", City.BOSTON]):
        for options in ({}, {"nbest": 1}):
            [result] = tagger.tag([tokens], **options)
            assert [type(token) for token in result.tokens] == [str] * 3, options
            assert result == tagger.tag([["flights", "to", "boston"]], **options)[0]
