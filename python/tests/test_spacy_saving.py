"""The spaCy component's models in saved pipelines, pipeline bytes, pickles and the model
cache: always the model the pipeline was saved with, written whole."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
import spacy

import trellis
from conftest import CORPUS, GOLD, entities, run_cli
from trellis import _files, _library


def test_a_saved_pipeline_carries_its_model(model_path, tmp_path) -> None:
    """`nlp.to_disk` copies the model into the pipeline; `spacy.load` tags with the copy
    after the original is gone, from another working directory."""
    original = tmp_path / "original.model"
    original.write_bytes(open(model_path, "rb").read())
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": str(original)})
    expected = [entities(doc) for doc in nlp.pipe(GOLD)]
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "trellis_tagger" / "model").read_bytes() == \
        original.read_bytes()
    original.unlink()
    code = (
        "import json, spacy, sys\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "print(json.dumps([[(e.text, e.label_) for e in doc.ents] "
        "for doc in nlp.pipe(json.loads(sys.argv[2]))]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline"), json.dumps(list(GOLD))],
        capture_output=True, text=True, check=False, env=os.environ.copy(), cwd="/")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[list(e) for e in doc] for doc in expected]
    assert expected == [gold for gold in GOLD.values()]


def test_a_saved_pipeline_never_loads_the_configured_model(model_path, tmp_path,
                                                           monkeypatch) -> None:
    """`spacy.load` and `nlp.from_bytes` call the factory with the configured path before the
    component gets the pipeline's model: a configured file that was damaged, or a directory,
    by then failed the load, and a good one was loaded for nothing."""
    configured = tmp_path / "configured.model"
    shutil.copy(model_path, configured)
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": str(configured)})
    nlp.to_disk(tmp_path / "pipeline")
    data = nlp.to_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loads = []
    load_model = _library.load_model
    monkeypatch.setattr(_library, "load_model", lambda path: loads.append(path) or load_model(path))
    for damage in (lambda: None, lambda: configured.write_bytes(configured.read_bytes()[:1000]),
                   lambda: (configured.unlink(), configured.mkdir())):
        damage()
        loaded = spacy.load(tmp_path / "pipeline")
        assert [entities(doc) for doc in loaded.pipe(GOLD)] == list(GOLD.values())
        assert len(loads) == 1 and loads.pop().startswith(str(tmp_path / "cache"))
        twin = spacy.blank("en")
        twin.add_pipe("trellis_tagger", config={"model": str(configured)})
        twin.from_bytes(data)
        assert [entities(doc) for doc in twin.pipe(GOLD)] == list(GOLD.values())
        assert len(loads) == 1 and loads.pop().startswith(str(tmp_path / "cache"))


def test_a_loaded_pipeline_saved_back_to_its_directory_keeps_its_model(model_path,
                                                                      tmp_path) -> None:
    """Saved onto the directory it was loaded from, the pipeline's model stays whole; and a
    `Tagger`'s model copied onto its own file (nothing to copy) stays the file it loaded, so
    the tagger still saves it."""
    copy = tmp_path / "copy.model"
    shutil.copy(model_path, copy)
    with trellis.Tagger(copy) as tagger:
        tagger.copy_model_file(copy)
        assert tagger.model_bytes() == copy.read_bytes() == open(model_path, "rb").read()
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path})
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    loaded.to_disk(tmp_path / "pipeline")
    saved = tmp_path / "pipeline" / "trellis_tagger" / "model"
    assert saved.read_bytes() == open(model_path, "rb").read()
    again = spacy.load(tmp_path / "pipeline")
    assert [entities(doc) for doc in again.pipe(GOLD)] == list(GOLD.values())
    assert [p.name for p in saved.parent.iterdir()] == ["model"]  # no temporary file left


def test_a_loaded_pipeline_outlives_its_directory(model_path, tmp_path, monkeypatch) -> None:
    """`spacy.load` from a directory that is then removed (a download unpacked into a
    temporary directory), or written again with another model (`spacy train` replacing
    `model-best`): the pipeline still saves, copies and pickles the model it loaded. It
    tagged with the directory's file, and each of these failed once that was gone."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path})
    model = open(model_path, "rb").read()
    expected = [entities(doc) for doc in nlp.pipe(GOLD)]
    nlp.to_disk(tmp_path / "download")
    gone = spacy.load(tmp_path / "download")
    shutil.rmtree(tmp_path / "download")
    rewritten_directory = tmp_path / "model-best"
    nlp.to_disk(rewritten_directory)
    rewritten = spacy.load(rewritten_directory)
    other = spacy.blank("en")
    other.add_pipe("trellis_tagger", config={"model": str(tmp_path / "other.model")})
    run_cli("train", "--train", str(CORPUS / "dev.conll"), "--model",
            str(tmp_path / "other.model"), "--epochs", "1", "--embedding-size", "8",
            "--hidden-size", "8", "--character-filters", "0", "--seed", "1", "--quiet")
    other.to_disk(rewritten_directory)
    for loaded in (gone, rewritten):
        assert loaded.get_pipe("trellis_tagger").to_bytes() == model
        assert [entities(doc) for doc in pickle.loads(pickle.dumps(loaded)).pipe(GOLD)] == \
            expected
        loaded.to_disk(tmp_path / "saved")
        assert (tmp_path / "saved" / "trellis_tagger" / "model").read_bytes() == model


def test_a_pipeline_loads_where_the_model_cache_cannot_be_written(model_path, tmp_path,
                                                                  monkeypatch) -> None:
    """A read-only home (here, a cache path that is a file): `spacy.load` tags with the
    directory's model, and warns that it must stay, rather than fail."""
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "not-a-directory").write_bytes(b"")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-directory"))
    with pytest.warns(UserWarning, match="the model cache cannot be written .* must stay"):
        loaded = spacy.load(tmp_path / "pipeline")
    assert [entities(doc) for doc in loaded.pipe(GOLD)] == list(GOLD.values())
    assert loaded.get_pipe("trellis_tagger").to_bytes() == open(model_path, "rb").read()


def test_pipeline_bytes_carry_the_model(nlp, model_path, tmp_path, monkeypatch) -> None:
    """`nlp.from_bytes(nlp.to_bytes())` on a pipeline configured with a missing file tags as
    the original, from the model cache's copy."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = nlp.to_bytes()
    twin = spacy.blank("en")
    twin.add_pipe("trellis_tagger", config={"model": str(tmp_path / "missing")})
    twin.from_bytes(data)
    assert [entities(doc) for doc in twin.pipe(GOLD)] == [entities(doc) for doc in nlp.pipe(GOLD)]
    cached = list((tmp_path / "cache" / "trellis" / "models").iterdir())
    assert [path.read_bytes() for path in cached] == [open(model_path, "rb").read()]
    twin.from_bytes(data)  # the same bytes again: the same file, none added
    assert list((tmp_path / "cache" / "trellis" / "models").iterdir()) == cached


def test_a_cache_file_holding_other_bytes_is_written_again(nlp, model_path, tmp_path,
                                                           monkeypatch) -> None:
    """The model cache's file named by the model's SHA-256 was loaded whatever it held: one
    holding another model (put there, or damaged) made `from_bytes` tag with that model. It
    is written again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = nlp.to_bytes()
    model = open(model_path, "rb").read()
    cache = tmp_path / "cache" / "trellis" / "models"
    cache.mkdir(parents=True)
    cached = cache / f"{hashlib.sha256(model).hexdigest()}.model"
    run_cli("train", "--train", str(CORPUS / "dev.conll"), "--model", str(cached), "--epochs",
            "1", "--embedding-size", "8", "--hidden-size", "8", "--character-filters", "0",
            "--seed", "1", "--quiet")
    assert cached.read_bytes() != model
    twin = spacy.blank("en")
    twin.add_pipe("trellis_tagger", config={"model": str(tmp_path / "missing")})
    twin.from_bytes(data)
    assert cached.read_bytes() == model
    assert [entities(doc) for doc in twin.pipe(GOLD)] == list(GOLD.values())


def test_a_failed_save_leaves_no_temporary_file(nlp, tmp_path) -> None:
    """A directory where the model file goes fails the save at the rename, which left the
    temporary file of the model's size beside it (with the directory's mode)."""
    (tmp_path / "pipeline" / "trellis_tagger" / "model").mkdir(parents=True)
    with pytest.raises(trellis.TrellisError, match="is a directory, device or FIFO"):
        nlp.to_disk(tmp_path / "pipeline")
    assert [p.name for p in (tmp_path / "pipeline" / "trellis_tagger").iterdir()] == ["model"]


def test_saved_model_files_have_the_mode_of_new_files(nlp, tmp_path, monkeypatch) -> None:
    """0666 less the umask, as spaCy's own files of the pipeline, not a temporary file's 0600,
    which another user could not read (a pipeline built as root, loaded by a service)."""
    data = nlp.to_bytes()
    for umask, mode in ((0o022, 0o644), (0o027, 0o640)):
        pipeline, cache = tmp_path / f"pipeline{umask:o}", tmp_path / f"cache{umask:o}"
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        twin = spacy.blank("en")
        twin.add_pipe("trellis_tagger", config={"model": str(tmp_path / "missing")})
        before = os.umask(umask)
        try:
            nlp.to_disk(pipeline)
            twin.from_bytes(data)
        finally:
            os.umask(before)
        written = [pipeline / "trellis_tagger" / "model", pipeline / "config.cfg",
                   *(cache / "trellis" / "models").iterdir()]
        assert [stat.S_IMODE(path.stat().st_mode) for path in written] == [mode] * 3
    # Saved again over itself, the model keeps the mode its owner gave it.
    model = tmp_path / "pipeline22" / "trellis_tagger" / "model"
    model.chmod(0o600)
    nlp.to_disk(tmp_path / "pipeline22")
    assert stat.S_IMODE(model.stat().st_mode) == 0o600


def test_a_relative_model_path_is_saved_and_pickled_after_chdir(model_path, tmp_path,
                                                                  monkeypatch) -> None:
    """The configured path named another file, or none, once the working directory changed:
    `nlp.to_disk` and pickling (which `nlp.pipe(n_process=2)` needs) failed."""
    shutil.copy(model_path, tmp_path / "m.model")
    monkeypatch.chdir(tmp_path)
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": "m.model"})
    monkeypatch.chdir("/")
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "trellis_tagger" / "model").read_bytes() == \
        (tmp_path / "m.model").read_bytes()
    twin = pickle.loads(pickle.dumps(nlp))
    assert [entities(doc) for doc in twin.pipe(GOLD)] == list(GOLD.values())


def test_a_model_file_changed_after_loading_is_not_saved(model_path, tmp_path) -> None:
    model = tmp_path / "changing.model"
    model.write_bytes(open(model_path, "rb").read())
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": str(model)})
    nlp("to boston")  # the component loads its model when it first tags
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(trellis.TrellisError, match="changed after it was loaded"):
        nlp.to_disk(tmp_path / "pipeline")


def test_a_model_file_replaced_while_it_loads_is_loaded_again(model_path, tmp_path,
                                                              monkeypatch) -> None:
    """The file's identity was read after the load: a file renamed into place during it (as
    `trellis train --model` or a deploy replaces one) was taken for the model loaded, and
    saving, copying or pickling the tagger then gave the other model without a word. It is
    loaded again now, and a file that changes at every load is refused."""
    path = tmp_path / "m.model"
    shutil.copy(model_path, path)
    other = tmp_path / "other.model"
    run_cli("train", "--train", str(CORPUS / "dev.conll"), "--model", str(other), "--epochs",
            "1", "--embedding-size", "8", "--hidden-size", "8", "--character-filters", "0",
            "--seed", "1", "--quiet")
    replacements = [str(other)]  # once: the second load reads the other model whole
    model_info = _library.model_info

    def replacing_while_loading(handle):  # runs between the load and its identity check
        if replacements:
            shutil.copy(replacements.pop(), tmp_path / "next.model")
            os.replace(tmp_path / "next.model", path)
        return model_info(handle)

    monkeypatch.setattr(_library, "model_info", replacing_while_loading)
    with trellis.Tagger(str(path)) as tagger:
        assert tagger.info["fileBytes"] == other.stat().st_size != os.path.getsize(model_path)
        assert tagger.model_bytes() == other.read_bytes()
        assert pickle.loads(pickle.dumps(tagger)).info == tagger.info
    replacements.extend([model_path, str(other)] * 2)  # at every load
    with pytest.raises(trellis.TrellisError, match=re.escape(
            f"{path}: the model file changed while it was loaded, 3 times")):
        trellis.Tagger(str(path))


def test_a_copy_replaces_only_a_model_and_writes_through_a_link(tagger, model_path,
                                                                 tmp_path) -> None:
    """`copy_model_file` (what `nlp.to_disk` calls) follows `trellis`'s rules for outputs: it
    had put a regular file in place of a device, a FIFO, a symbolic link and a user's notes,
    where `trellis train --model` refuses each and writes through a link to its target."""
    model = open(model_path, "rb").read()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused = {notes: "is not a Trellis model", fifo: "is a directory, device or FIFO"}
    try:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        refused[tmp_path / "null"] = "is a directory, device or FIFO"
    except PermissionError:
        pass  # devices need root; the FIFO stands for them
    for path, message in refused.items():
        with pytest.raises(trellis.TrellisError, match=message):
            tagger.copy_model_file(path)
    assert notes.read_text() == "my notes\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert all(stat.S_ISCHR(os.lstat(p).st_mode) for p in refused if p.name == "null")
    # A path ending in "/" or "/." names a directory: `realpath` dropped the slash or the dot,
    # and another model there was replaced.
    other = tmp_path / "other.model"
    other.write_bytes(model[:64])
    for name in (f"{other}/", f"{other}/."):
        with pytest.raises(trellis.TrellisError, match=re.escape(f"{name}: names a directory")):
            tagger.copy_model_file(name)
    assert other.read_bytes() == model[:64]
    # Through a link (to an existing model, or to no file yet) the target is written.
    for name in ("old.model", "new.model"):
        target = tmp_path / name
        if name == "old.model":
            target.write_bytes(model[:64])
        link = tmp_path / f"{name}.link"
        link.symlink_to(target)
        tagger.copy_model_file(link)
        assert link.is_symlink() and target.read_bytes() == model
    # A bytes path, which `Tagger` takes, too: it met the temporary file's str suffix.
    tagger.copy_model_file(os.fsencode(tmp_path / "bytes.model"))
    assert (tmp_path / "bytes.model").read_bytes() == model
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def test_model_copies_reach_the_disk_and_clear_what_killed_saves_left(
        tagger: trellis.Tagger, tmp_path, monkeypatch) -> None:
    """A copy is synced before its rename (after a crash the name held an empty or partial
    model), and its temporary file is named as `trellis` names its own, `.NAME.PID.tmp`: one a
    killed process left (a SIGTERM during `nlp.to_disk`) is removed by the next save, by
    either; a live process's is not."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    destination = tmp_path / "copy.model"
    stale = tmp_path / f".copy.model.{dead.pid}.tmp"
    live = tmp_path / f".copy.model.{os.getppid()}.tmp"
    for path in (stale, live):
        path.write_bytes(b"half a model")
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda *a: (events.append("replace"), real_replace(*a)))
    tagger.copy_model_file(destination)
    assert events == ["fsync", "replace"]
    assert destination.read_bytes() == open(tagger.path, "rb").read()
    assert not stale.exists() and live.exists()
    # A name that is no process id to `trellis` (not ASCII digits) is left, and the save goes
    # on: "²" passed `isdigit` and failed `int`, and every save beside it failed.
    for other in ("²", "١٢"):
        (tmp_path / f".copy.model.{other}.tmp").write_bytes(b"someone's")
    tagger.copy_model_file(destination)
    assert all((tmp_path / f".copy.model.{o}.tmp").exists() for o in ("²", "١٢"))


def test_the_command_line_removes_what_a_killed_save_of_the_package_left(tmp_path) -> None:
    """Both cut a long name alike for their temporaries' names (at a code point: `trellis`
    cut whole characters, combining marks and all), so each removes the other's."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = "a" * 236 + "e\u0301\u0301"
    stale = tmp_path / f"{_files._temporary_prefix(name)}{dead.pid}.tmp"
    stale.write_bytes(b"half a model")
    run_cli("train", "--train", str(CORPUS / "train.conll"), "--model", str(tmp_path / name),
            "--epochs", "1", "--embedding-size", "4", "--hidden-size", "4",
            "--character-filters", "0", "--quiet")
    assert (tmp_path / name).exists() and not stale.exists()


def test_a_child_forked_during_a_save_can_save(tmp_path) -> None:
    """The lock that makes the process's saves take turns was held in a child forked while
    another thread saved, by a thread the child does not have: its first save waited for
    ever."""
    started = threading.Event()

    def slow(target) -> None:
        started.set()
        time.sleep(1)
        target.write(b"x")

    saving = threading.Thread(target=_files._write_whole, args=(tmp_path / "a.model", slow))
    saving.start()
    started.wait()
    child = os.fork()
    if child == 0:
        _files._write_whole(tmp_path / "b.model", lambda target: target.write(b"y"))
        os._exit(0)
    saving.join()
    deadline = time.monotonic() + 20
    while os.waitpid(child, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = (tmp_path / "b.model").exists()
    if not finished:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert finished
