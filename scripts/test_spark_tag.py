#!/usr/bin/env python3
"""scripts/spark_tag.py on Spark's local mode against one `trellis tag` run (`make spark-test`).

The shipped corpus's test split becomes JSON-lines requests with ids, repeated
`SPARK_TEST_REPEAT` times (default 10: 10,000 requests, 8 partitions). The answers of
`local[2]`, joined by id, must equal those of one `trellis tag` process, with no id missing or
repeated; so must they when one task is killed mid-partition and Spark retries it (there with
spark.task.cpus = 2, which every trellis process must get as --threads 2). A partition whose
input fails part way must fail its task, not end early with the answers so far. A line trellis
refuses must fail the job with an error naming its partition and showing the line; with
`--on-error skip`, the error answers must be counted, those without an id apart. Prints the
throughput of both, and of `--threads 1` (one core), for the README's "Scaling out".

Runs $TRELLIS_CLI, else `make build`'s toolchain-free binary; needs PySpark and Java 17.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

import spark_tag

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "tools"))
from release_binary import release_binary  # noqa: E402 (path set above)

CORPUS = os.path.join(ROOT, "Corpora", "synthetic")
REPEAT = int(os.environ.get("SPARK_TEST_REPEAT", "10"))
PARTITIONS = 8
# Spark in local mode on loopback only, without its web UI and progress bars.
LOCAL_ONLY = [
    "--conf", "spark.ui.enabled=false", "--conf", "spark.ui.showConsoleProgress=false",
    "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
]


def conll_sentences(path):
    """The token lists of a CoNLL file (token in the first column)."""
    sentences, tokens = [], []
    with open(path, encoding="utf-8") as file:
        for line in file:
            if line.strip():
                tokens.append(line.split()[0])
            elif tokens:
                sentences.append(tokens)
                tokens = []
    return sentences + ([tokens] if tokens else [])


def make_fixture(prefix, options, sentence_limit=None, repeat=1):
    """The shipped binary, a temporary directory, a model trained there on the shipped corpus
    with `options`, and a file of JSON-lines requests with ids in it: the test split's
    sentences (the first `sentence_limit`), `repeat` times."""
    trellis = os.path.abspath(release_binary(ROOT))
    directory = tempfile.mkdtemp(prefix=prefix)
    model = os.path.join(directory, "test.model")
    subprocess.run(
        [trellis, "train", "--train", os.path.join(CORPUS, "train.conll"), "--model", model,
         "--seed", "1", "--quiet", *options], check=True)
    sentences = conll_sentences(os.path.join(CORPUS, "test.conll"))[:sentence_limit]
    requests = os.path.join(directory, "requests.jsonl")
    with open(requests, "w", encoding="utf-8") as file:
        for copy in range(repeat):
            for number, tokens in enumerate(sentences):
                request = {"id": copy * len(sentences) + number, "tokens": tokens}
                file.write(json.dumps(request) + "\n")
    return trellis, directory, model, requests, sentences


def answers_by_id(lines):
    """The answer lines keyed by their id; fails on a repeated or missing id."""
    answers = {}
    for line in lines:
        answer_id = json.loads(line).get("id")
        if answer_id is None or answer_id in answers:
            raise AssertionError(f"missing or repeated id: {line[:200]}")
        answers[answer_id] = line
    return answers


def read_parts(directory):
    """The lines of every part-* file of a Spark output directory."""
    lines = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("part-"):
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                lines.extend(file.read().splitlines())
    return lines


class SparkTagTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.trellis, cls.directory, cls.model, cls.requests, sentences = make_fixture(
            "trellis-spark-test-", ["--dev", os.path.join(CORPUS, "dev.conll"), "--epochs", "3"],
            repeat=REPEAT)
        cls.request_count = REPEAT * len(sentences)
        cls.token_count = REPEAT * sum(map(len, sentences))
        cls.expected, seconds = cls.tag_in_one_process([])
        cls.report("one trellis tag process (all cores)", seconds)
        _, seconds = cls.tag_in_one_process(["--threads", "1"])
        cls.report("one trellis tag process, --threads 1", seconds)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory)

    @classmethod
    def tag_in_one_process(cls, options):
        """The answers of one `trellis tag` run over the requests, by id, and its seconds."""
        started = time.monotonic()
        result = subprocess.run(
            [cls.trellis, "tag", "--model", cls.model, "--input", "jsonl", *options,
             cls.requests], check=True, capture_output=True, text=True)
        seconds = time.monotonic() - started
        return answers_by_id(result.stdout.splitlines()), seconds

    @classmethod
    def report(cls, what, seconds):
        print(
            f"{what}: {cls.request_count} sentences, {cls.token_count} tokens in "
            f"{seconds:.2f} s: {cls.token_count / seconds:,.0f} tokens/s", file=sys.stderr)

    def spark_tag(self, output, requests, *settings, trellis=None, partitions=PARTITIONS,
                  master="local[2]", check=True):
        """Runs spark_tag.py on `requests` into `output` with `settings`, more of its options;
        returns its completed process, standard error captured when `check` is off."""
        return subprocess.run(
            [sys.executable, os.path.join(ROOT, "scripts", "spark_tag.py"), "--trellis",
             trellis or self.trellis, "--model", self.model, "--input", requests, "--output",
             output, "--partitions", str(partitions), "--master", master, *LOCAL_ONLY,
             *settings],
            check=check, stderr=None if check else subprocess.PIPE, text=True,
            env=dict(os.environ, SPARK_LOCAL_IP="127.0.0.1"))

    def run_spark(self, name, trellis, master, *settings, requests=None):
        """Runs spark_tag.py on `requests` (default: the test's) with `settings`, more of its
        options, and returns the answers by id and its seconds (JVM start included)."""
        output = os.path.join(self.directory, name)
        started = time.monotonic()
        self.spark_tag(output, requests or self.requests, *settings, trellis=trellis,
                       master=master)
        seconds = time.monotonic() - started
        self.assertGreaterEqual(
            len([name for name in os.listdir(output) if name.startswith("part-")]), PARTITIONS)
        return answers_by_id(read_parts(output)), seconds

    def test_local_mode_answers_as_one_process(self):
        answers, seconds = self.run_spark("answers", self.trellis, "local[2]")
        self.report("spark_tag.py on local[2], JVM start included", seconds)
        self.assertEqual(len(answers), self.request_count)
        self.assertEqual(answers, self.expected)

    def test_only_line_feeds_end_requests(self):
        """A lone CR inside a request is JSON whitespace, and a CRLF line end is a line end, as
        `trellis tag --input jsonl` reads them; Hadoop's reader cut a request at a lone CR."""
        requests = os.path.join(self.directory, "line-ends.jsonl")
        with open(requests, "wb") as file:
            for copy in range(PARTITIONS):
                file.write(b'{"id":"cr%d",\r"tokens":["to","denver"]}\n' % copy)
                file.write(b'{"id":"crlf%d","tokens":["to","boston"]}\r\n' % copy)
        result = subprocess.run(
            [self.trellis, "tag", "--model", self.model, "--input", "jsonl", requests],
            check=True, capture_output=True, text=True)
        answers, _ = self.run_spark("line-ends", self.trellis, "local[2]", requests=requests)
        self.assertEqual(len(answers), 2 * PARTITIONS)
        self.assertEqual(answers, answers_by_id(result.stdout.splitlines()))

    def test_a_task_killed_mid_partition_is_retried_to_the_same_answers(self):
        marker = os.path.join(self.directory, "killed-once")
        wrapper = os.path.join(self.directory, "trellis-killed-once")
        arguments = os.path.join(self.directory, "arguments")
        # The first task's process to create the marker answers 100 requests of its partition
        # and is killed (SIGKILL); every later one, the retry included, is plain trellis, and
        # so is the first run, the driver's check of the options. Each writes its arguments
        # to a line of `arguments`.
        with open(wrapper, "w", encoding="utf-8") as file:
            file.write(
                "#!/bin/sh\n"
                f"echo \"$*\" >> '{arguments}'\n"
                f"if [ $(wc -l < '{arguments}') -gt 1 ] && mkdir '{marker}' 2>/dev/null; then\n"
                f"  head -n 100 | '{self.trellis}' \"$@\"\n"
                "  kill -KILL $$\n"
                "fi\n"
                f"exec '{self.trellis}' \"$@\"\n")
        os.chmod(wrapper, 0o755)
        # local[2,2]: two cores, and a task may fail once (spark.task.maxFailures = 2); each
        # task takes both cores, so each trellis must be given two threads.
        answers, _ = self.run_spark(
            "answers-after-retry", wrapper, "local[2,2]", "--conf", "spark.task.cpus=2")
        self.assertTrue(os.path.isdir(marker), "no task was killed")
        self.assertEqual(len(answers), self.request_count)
        self.assertEqual(answers, self.expected)
        with open(arguments, encoding="utf-8") as file:
            runs = file.read().splitlines()
        self.assertGreater(len(runs), PARTITIONS, "every partition, and the retry")
        for run in runs:
            self.assertIn("--threads 2", run)

    def bad_lines(self):
        """Two files of requests, as partitions 0 and 1 (each file is one at least): the
        second's line 3 is a request longer than 200 characters with no array for "tokens",
        and it has an empty line and one that is no JSON, neither with an id."""
        directory = os.path.join(self.directory, "bad-lines")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "a.jsonl"), "w", encoding="utf-8") as file:
            file.write('{"id":"a1","tokens":["to","boston"]}\n')
        with open(os.path.join(directory, "b.jsonl"), "w", encoding="utf-8") as file:
            file.write('{"id":"b1","tokens":["to","denver"]}\n'
                       '{"id":"b2","text":"to atlanta"}\n'
                       '{"id":"b3","tokens":"' + "boston " * 40 + '"}\n'
                       '\n'
                       'flights to boston\n')
        return os.path.join(directory, "*.jsonl")

    def test_a_refused_line_fails_the_job_naming_it(self):
        """The job's error named only `<stdin>:LINE` of an unnamed partition; it names the
        partition and shows the line (its first 200 characters). The output directory is
        left behind."""
        output = os.path.join(self.directory, "refused")
        done = self.spark_tag(output, self.bad_lines(), partitions=1, check=False)
        self.assertNotEqual(done.returncode, 0)
        line = '{"id":"b3","tokens":"' + "boston " * 40 + '"}'
        self.assertEqual(done.stderr.splitlines()[-2:], [
            'spark_tag: partition 1, line 3: "tokens" must be an array of strings, not a string '
            f"(the line, its first 200 characters: {line[:200]!r})",
            f"spark_tag: the job failed; remove {output}/, which it leaves behind, before "
            "running it again"])
        self.assertTrue(os.path.isdir(output))

    def test_a_job_that_spark_fails_says_the_innermost_cause(self):
        """An input directory that holds a directory fails the job in Hadoop's record reader;
        the script said only "Job aborted.", and why was in Spark's log alone."""
        inputs = os.path.join(self.directory, "nested")
        os.makedirs(os.path.join(inputs, "more"), exist_ok=True)
        shutil.copy(self.requests, inputs)
        output = os.path.join(self.directory, "nested-answers")
        done = self.spark_tag(output, inputs, partitions=1, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertRegex(done.stderr.splitlines()[-2], r"^spark_tag: .*is a directory")

    def test_error_answers_without_an_id_are_counted(self):
        """With `--on-error skip`, an error answer without an id cannot be joined to its
        request; the script counts them, and all error answers, when the job ends."""
        output = os.path.join(self.directory, "skipped")
        done = self.spark_tag(output, self.bad_lines(), "--", "--on-error", "skip",
                              partitions=1, check=False)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr.splitlines()[-1], (
            'spark_tag: 3 answer(s) hold "error", 2 of them without an id (a line that is not '
            "a JSON object, or gives none), which no request can be joined to"))
        answers = [json.loads(line) for line in read_parts(output)]
        self.assertEqual(len(answers), 6)
        self.assertEqual(sorted(a["id"] for a in answers if "error" not in a), ["a1", "b1", "b2"])

    def test_an_input_that_fails_mid_partition_fails_the_task(self):
        """An error reading the partition's lines (a corrupt input file, say) must fail the
        task, not end trellis's input early and pass off the answers so far as the
        partition's."""
        def lines():
            with open(self.requests, encoding="utf-8") as file:
                yield next(file).rstrip("\n")
                yield next(file).rstrip("\n")
            raise ValueError("the input broke off")

        with mock.patch.object(spark_tag.SparkFiles, "get", side_effect=lambda name: name):
            tag_partition = spark_tag.pipe_through_trellis(
                self.trellis, self.model, 1, [], mock.Mock(), mock.Mock())
            answers = []
            with self.assertRaisesRegex(ValueError, "the input broke off"):
                for answer in tag_partition(0, lines()):
                    answers.append(answer)
        self.assertLessEqual(len(answers), 2)


    def test_a_process_that_ends_well_must_answer_each_line_once(self):
        """A `trellis` that ended with status 0 without one answer a line (given an argument
        that made it print something else, or a file, which it read instead of the
        partition) passed off what it wrote as the partition's answers: a job lost every
        request and ended with status 0. Its task fails now; a file after `--` is
        trellis's own error, as `-` names its input."""
        def lines():
            with open(self.requests, encoding="utf-8") as file:
                for _ in range(3):
                    yield next(file).rstrip("\n")

        fake = os.path.join(self.directory, "prints-two-lines")
        with open(fake, "w", encoding="utf-8") as file:
            # It reads all its input first: one that exits at once made the feeder's writes
            # fail on a closed pipe, or not, as the scheduler had it.
            file.write("#!/bin/sh\ncat > /dev/null\necho '{}'\necho '{}'\n")
        os.chmod(fake, 0o755)
        with mock.patch.object(spark_tag.SparkFiles, "get", side_effect=lambda name: name):
            for trellis, arguments, reason in (
                    (fake, [], "wrote 2 line(s) for the partition's 3: not one answer a line"),
                    (self.trellis, [self.requests], "Unexpected argument")):
                tag_partition = spark_tag.pipe_through_trellis(
                    trellis, self.model, 1, arguments, mock.Mock(), mock.Mock())
                with self.assertRaisesRegex(RuntimeError, re.escape(reason)):
                    list(tag_partition(0, lines()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
