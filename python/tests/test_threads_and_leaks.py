"""Concurrent tagging on one model, and memory that stays flat over repeated calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import trellis
from trellis import _library


def test_threads_give_the_same_results(tagger, test_sentences) -> None:
    sample = test_sentences[:300]
    expected = [result.json_line for result in tagger.tag(sample)]

    def tag_repeatedly(_: int) -> list:
        return [[r.json_line for r in tagger.tag(sample)] for _ in range(3)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(tag_repeatedly, range(4)))
    assert all(answers == expected for outcome in outcomes for answers in outcome)


def test_closing_while_other_threads_tag_frees_the_model_after_their_calls(
        model_path, test_sentences) -> None:
    """A call that had read the handle when another thread closed the tagger used the freed
    model and crashed the process (SIGSEGV); now the model is freed when the last call ends,
    and later calls raise TrellisError."""
    sample = test_sentences[:20]
    for _ in range(30):
        closing = trellis.Tagger(model_path)
        refused = []

        def tag_until_closed(_: int) -> None:
            while True:
                try:
                    closing.tag(sample)
                    closing.tag_json_lines('{"tokens": ["boston"]}\n')
                except trellis.TrellisError as error:
                    refused.append(str(error))
                    return

        with ThreadPoolExecutor(max_workers=2) as pool:
            calls = [pool.submit(tag_until_closed, n) for n in range(2)]
            time.sleep(0.002)
            closing.close()
            for call in calls:
                call.result()
        assert refused == ["the tagger is closed"] * 2


def test_a_child_forked_while_threads_tag_can_tag(model_path, test_sentences) -> None:
    """A fork while another thread was inside the library left the child holding that
    thread's locks, and its first call hung (one fork in tens to hundreds); forks now wait
    for calls in flight."""
    forking = trellis.Tagger(model_path)
    sample = test_sentences[:64]
    stop = False

    def tag_until_stopped(_: int) -> None:
        while not stop:
            forking.tag(sample, batch_size=1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        calls = [pool.submit(tag_until_stopped, n) for n in range(2)]
        try:
            for _ in range(40):
                child = os.fork()
                if child == 0:
                    signal.alarm(20)  # a hung child ends by SIGALRM, which the parent sees
                    forking.tag(sample[:4])
                    os._exit(0)
                _, status = os.waitpid(child, 0)
                assert os.waitstatus_to_exitcode(status) == 0
        finally:
            stop = True
            for call in calls:
                call.result()
    forking.close()


def resident_bytes() -> int:
    """The process's resident set size, from /proc/self/statm (in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth_over(calls: int, body) -> int:
    for _ in range(100):  # warm-up: buffers and caches reach their working size
        body()
    before = resident_bytes()
    for _ in range(calls):
        body()
    return resident_bytes() - before


MEGABYTE = 1 << 20


def test_tagging_does_not_leak(tagger, test_sentences) -> None:
    """1,000 calls each return over 10 KB of answers: a leak of them would be 10 MB."""
    sample = test_sentences[:16]
    assert len(tagger.tag_json_lines(
        "\n".join('{"tokens":["%s"]}' % '","'.join(s) for s in sample),
        {"confidence": True})) > 10_000
    growth = growth_over(1000, lambda: tagger.tag(sample, confidence=True))
    assert growth < 4 * MEGABYTE, f"RSS grew by {growth / MEGABYTE:.1f} MB"


def test_errors_do_not_leak(tagger) -> None:
    """Each refusal returns a 4 KB message (it names the unknown key): 4 MB if leaked."""
    def refused() -> None:
        with pytest.raises(trellis.TrellisError, match="unknown key"):
            tagger.tag_json_lines('{"tokens":["boston"]}', {"x" * 4000: 1})

    growth = growth_over(1000, refused)
    assert growth < 2 * MEGABYTE, f"RSS grew by {growth / MEGABYTE:.1f} MB"


def test_loading_and_freeing_models_does_not_leak(model_path) -> None:
    """Each load holds the whole model (about 1 MB of weights): 1,000 kept would be 1 GB."""
    def load_tag_free() -> None:
        with trellis.Tagger(model_path) as loaded:
            loaded.tag([["boston"]])

    growth = growth_over(1000, load_tag_free)
    assert growth < 8 * MEGABYTE, f"RSS grew by {growth / MEGABYTE:.1f} MB"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_after_tagging_tags(tagger) -> None:
    """One sentence is tagged on the library's pair of threads, whose second thread `fork`
    does not copy: the child's first call waited for it forever (spaCy's n_process after
    the parent had tagged). The child now starts a thread of its own."""
    expected = tagger.tag([["to", "denver"]])[0].labels
    tagger.tag([["flights", "to", "boston"]])  # the pair's second thread runs in this process
    child = os.fork()
    if child == 0:
        try:
            os._exit(0 if tagger.tag([["to", "denver"]])[0].labels == expected else 1)
        finally:
            os._exit(2)
    for _ in range(600):  # up to a minute
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.1)
    os.kill(child, 9)
    os.waitpid(child, 0)
    pytest.fail("the forked child's tagging call did not return within a minute")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("hook", ["before", "after_in_child"])
def test_a_tagger_freed_while_the_process_forks_does_not_hang_it(model_path, hook) -> None:
    """A tagger freed by the thread that forks, while it forks (here by a fork hook registered
    before trellis's; also by a garbage collection in CPython's own after-fork work), waited
    for the fork to end, which only that thread could end: the parent (`before`) or the child
    (`after_in_child`) hung forever."""
    script = (
        "import os, sys\n"
        "holder = []\n"
        f"os.register_at_fork({hook}=holder.clear)\n"
        "import trellis\n"
        "holder.append(trellis.Tagger(sys.argv[1]))\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    os._exit(0 if not holder else 3)\n"
        "sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))\n")
    finished = _run_within_a_minute(
        script, str(model_path), what=f"a fork freeing a tagger from its {hook} hook")
    assert finished.returncode == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("loaded_first", [False, True])
def test_a_fork_during_the_first_load_leaves_a_child_that_tags(model_path, loaded_first) -> None:
    """A fork while another thread made the process's first `Tagger` split the library's
    loading (the package's lock) or the first model's (Swift's one-time set-up), and the
    child waited for ever at its first call. A load is a call
    the fork waits for, as tagging is."""
    script = (
        "import os, signal, sys, threading, time\n"
        "import trellis\n"
        f"if {loaded_first}: trellis.version()\n"
        "loader = threading.Thread(target=lambda: trellis.Tagger(sys.argv[1]))\n"
        "loader.start()\n"
        "time.sleep(float(sys.argv[2]))\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    signal.alarm(20)\n"
        "    trellis.Tagger(sys.argv[1]).tag([['flights', 'to', 'boston']])\n"
        "    os._exit(0)\n"
        "loader.join()\n"
        "sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))\n")
    for delay in ("0", "0", "0.0005", "0.001"):
        finished = _run_within_a_minute(
            script, str(model_path), delay, what="a fork during the first load")
        assert finished.returncode == 0, f"the child forked after {delay} s ended with {finished}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_signal_handler_that_forks_while_its_thread_tags_does_not_hang(model_path) -> None:
    """A handler runs between the library call and the end of the call's gate; one that
    forked waited for its own thread's call to end, for ever. The forks go through now."""
    script = (
        "import os, signal, sys\n"
        "import trellis\n"
        "tagger = trellis.Tagger(sys.argv[1])\n"
        "children = []\n"
        "def fork(*_):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        os._exit(0)\n"
        "    children.append(child)\n"
        "signal.signal(signal.SIGALRM, fork)\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)\n"
        "sentences = [['flights', 'from', 'boston', 'to', 'denver']] * 200\n"
        "while len(children) < 5:\n"
        "    tagger.tag(sentences, threads=1)\n"
        # Disarmed here, not in the handler: a handler can run nested in another between its
        # append and a count check, so no count is sure to be seen, and a timer left running
        # kills the interpreter once its exit has put SIGALRM's default action back.
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "for child in children:\n"
        "    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0\n")
    finished = _run_within_a_minute(
        script, str(model_path), what="a signal handler's fork during tagging")
    assert finished.returncode == 0


def test_a_signal_handler_that_closes_the_tagger_its_thread_holds_does_not_hang(
        model_path) -> None:
    """A handler that closes a tagger can run on a thread that holds the tagger's lock (it
    interrupted the holder there: nested handlers closing the tagger every 0.7 ms hung a
    process within seconds); `close` waited for that lock for ever. The lock is re-entrant
    now."""
    script = (
        "import sys\n"
        "import trellis\n"
        "from trellis import _library\n"
        "tagger = trellis.Tagger(sys.argv[1])\n"
        "freed = []\n"
        "free = _library.free_model\n"
        "_library.free_model = lambda handle: (freed.append(handle), free(handle))\n"
        "with tagger._lock:\n"
        "    tagger.close()\n"
        "assert len(freed) == 1, freed\n"
        "try:\n"
        "    tagger.tag([['boston']])\n"
        "    sys.exit('a closed tagger tagged')\n"
        "except trellis.TrellisError as error:\n"
        "    assert str(error) == 'the tagger is closed', error\n")
    finished = _run_within_a_minute(
        script, str(model_path), what="closing a tagger whose lock its thread holds")
    assert finished.returncode == 0


def test_a_ctrl_c_anywhere_in_a_call_leaves_no_lock_held(model_path) -> None:
    """A signal handler runs, and its exception is raised, where Python's loop checks for
    signals: as a function starts and after each call. One raised in
    `threading.Condition.__enter__` after it had the gate's lock left the lock held, and every
    other thread's next call waited for good. Each such point of a call's bookkeeping (the
    gate, the tagger's lock, their context managers) is interrupted in turn, by a trace
    function raising KeyboardInterrupt there; after each, another thread's call must end, and
    no call may stay counted as open (a fork would wait for it, a close would not free)."""
    script = (
        "import dis, functools, gc, sys, threading\n"
        "import trellis\n"
        "from trellis._library import _gate\n"
        "tagger = trellis.Tagger(sys.argv[1])\n"
        "files = ('trellis/_library.py', 'trellis/tagger.py', 'threading.py', 'contextlib.py')\n"
        "@functools.lru_cache(None)\n"
        "def checks(code):\n"
        "    instructions = list(dis.get_instructions(code))\n"
        "    return {after.offset for before, after in zip(instructions, instructions[1:])\n"
        "            if before.opname.startswith('CALL')} | {\n"
        "        i.offset for i in instructions if i.opname == 'RESUME'}\n"
        "def interrupt_at(target):\n"
        "    seen = [0]\n"
        "    def local(frame, event, arg):\n"
        "        if event == 'opcode' and frame.f_lasti in checks(frame.f_code):\n"
        "            seen[0] += 1\n"
        "            if seen[0] == target:\n"
        "                raise KeyboardInterrupt\n"
        "        return local\n"
        "    def tracer(frame, event, arg):\n"
        "        if not frame.f_code.co_filename.endswith(files):\n"
        "            return None\n"
        "        frame.f_trace_opcodes = True\n"
        "        return local\n"
        "    return tracer, seen\n"
        "target = 0\n"
        "while True:\n"
        "    target += 1\n"
        "    tracer, seen = interrupt_at(target)\n"
        "    sys.settrace(tracer)\n"
        "    try:\n"
        "        tagger.tag([['flights', 'to', 'boston']], threads=1)\n"
        "    except KeyboardInterrupt:\n"
        "        pass\n"
        "    finally:\n"
        "        sys.settrace(None)\n"
        "    if seen[0] < target:\n"
        "        break\n"
        "    other = threading.Thread(target=tagger.tag, args=([['boston']],), daemon=True)\n"
        "    other.start()\n"
        "    other.join(10)\n"
        "    assert not other.is_alive(), f'a call waited after interrupt {target}'\n"
        # A generator left suspended by the interrupt closes, and leaves, when collected.
        "    gc.collect()\n"
        "    assert (_gate._calls, tagger._users) == (0, 0), f'a call stayed open: {target}'\n"
        "assert target > 20, target\n")
    finished = _run_within_a_minute(script, str(model_path), what="calls after interrupts")
    assert finished.returncode == 0


def test_calls_through_the_gate_that_end_out_of_order_leave_none_open() -> None:
    """A call's gate left suspended by an interrupt closes when it is collected, after calls
    the thread made since: leaving by the thread's count of open calls then left one open,
    and a fork from another thread waited for it for good."""
    opened_before = _library._gate._calls
    first, second = _library._gate.call(), _library._gate.call()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert _library._gate._calls == opened_before


def test_an_exception_from_a_signal_handler_still_frees_the_answer(tagger, monkeypatch) -> None:
    """A signal's exception (Ctrl-C's KeyboardInterrupt) is raised as a foreign call returns,
    before its result is stored: the answer string of a `tag_json_lines` call interrupted so
    was never freed, about its size leaked at every interruption. The library's string is
    freed now, and the exception raised after."""
    library = _library.library()
    freed = []
    free = library.trellis_free_string

    def counting_free(pointer):
        freed.append(pointer)
        free(pointer)

    monkeypatch.setattr(library, "trellis_free_string", counting_free)

    class Interrupted(Exception):
        pass

    def interrupt(*_):
        raise Interrupted()

    requests = "\n".join(
        json.dumps({"id": i, "tokens": ["flights", "from", "boston", "to", "denver"]})
        for i in range(20000))
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        with pytest.raises(Interrupted):
            tagger.tag_json_lines(requests, {"threads": 1})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(freed) == 1


def _run_within_a_minute(script: str, *arguments: str, what: str) -> subprocess.CompletedProcess:
    """`script` run by a fresh interpreter with `arguments`; fails the test, saying `what`
    hung, when it does not end within a minute."""
    try:
        return subprocess.run([sys.executable, "-c", script, *arguments], timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} did not end within a minute")
