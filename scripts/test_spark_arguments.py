#!/usr/bin/env python3
"""scripts/spark_tag.py's refusals and reports (`make spark-test`, beside test_spark_tag.py).

Every mistake in the arguments that can be found before the job is refused with exit 2 and
no output directory made: without Spark where it can be (paths, options after `--`, Spark
settings), once the context has started otherwise (what Hadoop finds at an input, what the
shipped `trellis tag` makes of the model and the options). Inputs that are Hadoop's to read
(a brace glob, an empty directory) are read, and a job that fails or is interrupted says why.

Runs $TRELLIS_CLI, else `make build`'s toolchain-free binary; needs PySpark and Java 17.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import unittest
from unittest import mock

import spark_tag
from test_spark_tag import LOCAL_ONLY, ROOT, make_fixture, read_parts


class SparkArgumentTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.trellis, cls.directory, cls.model, cls.requests, _ = make_fixture(
            "trellis-spark-arguments-", ["--epochs", "1", "--embedding-size", "8",
                                         "--hidden-size", "8", "--character-filters", "0"],
            sentence_limit=20)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory)

    def spark_tag(self, requests, output, *settings, trellis=None, model=None):
        """spark_tag.py on `requests` into `output` under local[1], standard error captured."""
        return subprocess.run(
            [sys.executable, os.path.join(ROOT, "scripts", "spark_tag.py"), "--trellis",
             trellis or self.trellis, "--model", model or self.model, "--input", requests,
             "--output", output, "--master", "local[1]", *LOCAL_ONLY, *settings],
            stderr=subprocess.PIPE, text=True, check=False,
            env=dict(os.environ, SPARK_LOCAL_IP="127.0.0.1"))

    def path(self, *names):
        return os.path.join(self.directory, *names)

    def write(self, name, text, mode=0o644):
        with open(self.path(name), "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(self.path(name), mode)
        return self.path(name)

    def test_mistakes_in_the_arguments_are_refused_before_the_job(self):
        """A missing input failed the job with a Java trace after Spark had made the output
        directory (which then refused the next run); an output inside the input directory
        was made, then read as input (also when the input was named by a symbolic link, or
        either by a `file:` URL); --partitions below 1 reached Spark, and 2^31 - 1 ran its
        driver out of memory; `-- --input text` tagged each request as text, without ids, and
        exited 0; a pipe was read as empty, and the job ended well with no answers; a local
        name with a colon failed the job ("Relative path in absolute URI"); `-- --threads`
        overrode spark.task.cpus; `spark.task.cpus=0` ended in a Java trace ("/ by zero"); a
        text file as --trellis, a model that is none and `-- --batch-size 0` failed every
        task; an output that an input glob matches was read by the glob's next run; a file
        two inputs find (the same path twice, a directory and a file in it) was tagged twice.
        Each is refused, and no output directory is made."""
        inputs = self.path("inputs")
        os.makedirs(inputs, exist_ok=True)
        shutil.copy(self.requests, inputs)
        linked_inputs = self.path("linked-inputs")
        if not os.path.lexists(linked_inputs):
            os.symlink(inputs, linked_inputs)
        # Names Hadoop's input skips as hidden: a directory of them alone, one named itself
        # (beside a file it reads), one a glob matches (the job read nothing of them, and
        # ended well); and a `#` in a shipped file's path, which Spark reads as a URI's
        # fragment.
        hidden, mixed, colons = (self.path(name) for name in ("hidden", "mixed", "colons"))
        for directory in (hidden, mixed, colons):
            os.makedirs(directory, exist_ok=True)
            shutil.copy(self.requests, os.path.join(directory, "_more.jsonl"))
        shutil.copy(self.requests, os.path.join(mixed, "requests.jsonl"))
        shutil.copy(self.requests, os.path.join(colons, "2024-01-01T10:00.jsonl"))
        # In a folder of its own: Hadoop's globbing in this one would list it, and fail.
        os.makedirs(self.path("colon"), exist_ok=True)
        colon = self.path("colon", "reqs-10:00.jsonl")
        shutil.copy(self.requests, colon)
        fragment = self.path("model#1.model")
        shutil.copy(self.model, fragment)
        fifo = self.path("requests.fifo")
        os.mkfifo(fifo)
        text = self.write("text-binary", "just text\n", 0o755)
        not_a_model = self.write("fake.model", "not a model\n")
        skipped = "Hadoop's reading skips names that begin with _ or . (_more.jsonl), and finds"
        for requests, output, settings, message in (
                (self.path("missing.jsonl"), "out-missing", [],
                 "missing.jsonl: no such file or directory"),
                (inputs, os.path.join(inputs, "answers"), [], "is inside the input directory"),
                (linked_inputs, os.path.join(inputs, "linked-answers"), [],
                 "is inside the input directory"),
                ("file://" + inputs, os.path.join(inputs, "answers"), [],
                 "is inside the input directory"),
                (inputs, "file://" + os.path.join(inputs, "answers"), [],
                 "is inside the input directory"),
                (os.path.join(inputs, "*"), os.path.join(inputs, "answers"), [],
                 "is matched by the input glob"),
                (self.path("inp?ts"), os.path.join(inputs, "deeper", "answers"), [],
                 "is matched by the input glob"),
                (self.requests, "file://" + inputs, [], "exists; the answers go to a new"),
                (fifo, "out-fifo", [], "neither a file nor a directory"),
                (colon, "out-colon", [], "holds a colon (reqs-10:00.jsonl)"),
                (colons, "out-colons", [], "holds a colon (2024-01-01T10:00.jsonl)"),
                (self.requests, "out-partitions", ["--partitions", "0"], "must be in 1..."),
                (self.requests, "out-partitions", ["--partitions", "2147483647"],
                 "must be in 1...1000000"),
                (self.requests, "out-version", ["--", "--version"],
                 "trellis would print that instead of tagging"),
                (self.requests, "out-input", ["--", "--input", "text"],
                 "the script sets --input itself"),
                (self.requests, "out-model", ["--", f"--model={self.model}"],
                 "the script sets --model itself"),
                (self.requests, "out-threads", ["--", "--threads", "2"],
                 "the script sets --threads itself (spark.task.cpus"),
                (self.requests, "out-cpus", ["--conf", "spark.task.cpus=0"],
                 "the cores of a task, a whole number from 1"),
                (self.requests, "out-fragment", ["--model", fragment],
                 "where # begins a fragment"),
                (self.requests, "out-text", ["--trellis", text], "not a program"),
                (self.requests, "out-directory", ["--trellis", inputs], "not a file"),
                # Through Hadoop's globbing, once Spark has started, before the job makes the
                # output directory (it made it, and left it empty).
                ("file://" + self.path("missing.jsonl"), "out-url", [],
                 "missing.jsonl: no such file or directory"),
                (self.path("missing-*.jsonl"), "out-glob", [],
                 "missing-*.jsonl: no such file or directory"),
                (hidden, "out-hidden", [], skipped),
                (os.path.join(mixed, "_more.jsonl"), "out-hidden-file", [], skipped),
                (os.path.join(hidden, "*.jsonl"), "out-hidden-glob", [], skipped),
                # A file two inputs find was tagged twice.
                (f"{self.requests},{self.requests}", "out-twice", [],
                 "is read by an earlier input too, and would be tagged twice"),
                (f"{inputs},{os.path.join(inputs, os.path.basename(self.requests))}",
                 "out-inside", [], "is read by an earlier input too"),
                # The shipped trellis, run on no requests once Spark has started.
                (self.requests, "out-not-a-model", ["--model", not_a_model],
                 "trellis tag refuses the job's options: Error: "),
                (self.requests, "out-batch-size", ["--", "--batch-size", "0"],
                 "trellis tag refuses the job's options: Error: --batch-size must be in")):
            output = output if "/" in output else self.path(output)
            done = self.spark_tag(requests, output, *settings)
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertIn(message, done.stderr)
            self.assertNotIn("Traceback", done.stderr)
            if not output.startswith("file:"):
                self.assertFalse(os.path.exists(output), output)
        self.assertFalse(os.path.exists(os.path.join(inputs, "answers")))
        # A model named as the binary: Spark ships files by name.
        renamed = self.path("renamed")
        os.makedirs(renamed, exist_ok=True)
        same_name = os.path.join(renamed, os.path.basename(self.trellis))
        shutil.copy(self.model, same_name)
        done = self.spark_tag(self.requests, self.path("out-same-name"), model=same_name)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("Spark ships files by name", done.stderr)

    def test_inputs_are_read_as_hadoop_reads_them(self):
        """`{a,b}` is one glob to Hadoop: its comma split it in two, each refused as missing.
        An empty directory (an earlier job's output without parts, too) was refused as "no
        such file or directory", where an empty file gives no answers and ends well."""
        self.assertEqual(spark_tag.input_paths("g/{a,b}.jsonl,h/{c,{d,e}}.jsonl,i"),
                         ["g/{a,b}.jsonl", "h/{c,{d,e}}.jsonl", "i"])
        # As Hadoop's FileInputFormat splits it: a `}` before any `{` takes a level below 0.
        self.assertEqual(spark_tag.input_paths("d/a},d/{b,c},d/e"), ["d/a}", "d/{b,c},d/e"])
        for url, path in (("file:///x/part?.jsonl", "/x/part?.jsonl"), ("file:/x#1", "/x#1"),
                          ("file://host/x", "/x"), ("file:x", "x"), ("hdfs:///x", None)):
            self.assertEqual(spark_tag.local_path(url), path)
        parts = self.path("parts")
        os.makedirs(parts, exist_ok=True)
        with open(self.requests, encoding="utf-8") as file:
            lines = file.readlines()
        for name, chunk in (("a", lines[:5]), ("b", lines[5:8]), ("c", lines[8:])):
            with open(os.path.join(parts, f"{name}.jsonl"), "w", encoding="utf-8") as file:
                file.writelines(chunk)
        output = self.path("brace-answers")
        done = self.spark_tag(os.path.join(parts, "{a,b}.jsonl"), output)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(json.loads(line)["id"] for line in read_parts(output)),
                         list(range(8)))
        empty = self.path("empty")
        os.makedirs(empty, exist_ok=True)
        for requests, output in ((empty, self.path("empty-answers")),
                                 (self.path("empty-answers"), self.path("chained-answers"))):
            done = self.spark_tag(requests, output)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(read_parts(output), [])
            self.assertTrue(os.path.exists(os.path.join(output, "_SUCCESS")))

    def test_spark_that_does_not_start_says_why(self):
        """A task of more cores than the master has (or a master Spark cannot parse) ended
        the script in Python and Java traces; Spark's reason is said last, once."""
        output = self.path("out-master")
        done = self.spark_tag(self.requests, output, "--conf", "spark.task.cpus=2")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertRegex(
            done.stderr.splitlines()[-1],
            r"^spark_tag: Spark did not start: org.apache.spark.SparkException: The number of "
            r"cores per executor \(=1\) has to be >= the number of cpus per task = 2")
        self.assertNotIn("Traceback", done.stderr)
        self.assertFalse(os.path.exists(output))

    def test_hidden_names_beside_data_are_named_not_refused(self):
        """Beside files Hadoop reads, a hidden name is often no data (.DS_Store, a streaming
        job's _spark_metadata): the job runs and the name is said, Hadoop's own bookkeeping
        (_SUCCESS, .crc files) left unsaid. (An input of hidden names alone is refused, in
        the test of the arguments.)"""
        class Status:  # Hadoop's FileStatus and Path in one
            def __init__(self, name, children=None):
                self.name, self.children = name, children

            def getPath(self):
                return self

            def getName(self):
                return self.name

            def toString(self):
                return "file:/" + self.name

            def isDirectory(self):
                return self.children is not None

        names = ("part-0.jsonl", ".DS_Store", "_SUCCESS", ".part-0.jsonl.crc", "_b.jsonl")
        directory = Status("requests", [Status(name) for name in names])
        file_system = mock.Mock(
            globStatus=lambda path: [directory], listStatus=lambda status: status.children)
        context = mock.Mock()
        context._jvm.org.apache.hadoop.fs.Path.return_value.getFileSystem.return_value = \
            file_system
        self.assertEqual(spark_tag.hadoop_inputs(context, "requests"),
                         (["file:/part-0.jsonl"], [".DS_Store", "_b.jsonl"], True))
        with mock.patch.object(spark_tag, "SparkContext"), \
                mock.patch.object(spark_tag, "hadoop_inputs",
                                  return_value=(["part-0.jsonl"], [".DS_Store"], True)), \
                mock.patch.object(spark_tag, "check_tag_options"), \
                mock.patch.object(spark_tag, "tag_corpus", return_value=(0, 0)), \
                mock.patch("sys.stderr", new_callable=io.StringIO) as said:
            spark_tag.main(["--trellis", self.trellis, "--model", self.model, "--input",
                            self.requests, "--output", os.path.join(self.directory, "out-ds")])
        self.assertIn(
            f"spark_tag: --input {self.requests}: Hadoop's reading skips .DS_Store (names that "
            "begin with _ or .): rename any that holds requests", said.getvalue())

    def test_a_process_killed_or_a_driver_lost_is_said_in_words(self):
        """A trellis killed by a signal ended "with status -9: " and nothing after; the JVM
        of Spark's driver killed mid-job gave chained tracebacks, the last from stopping the
        context (py4j, retrying, found no JVM: ConnectionRefusedError), and no word of the
        output directory left behind; an interrupt (SIGINT) was said as Spark stopping."""
        self.assertEqual(
            spark_tag.failure(3, ["trellis", "tag"], -9, "", [], 0),
            "spark_tag: partition 3: trellis tag was killed by SIGKILL")
        self.assertEqual(
            spark_tag.failure(3, ["trellis", "tag"], -35, "", [], 0),
            "spark_tag: partition 3: trellis tag was killed by signal 35")
        # A UTF-16 file, read by Hadoop as UTF-8, failed as "invalid JSON" and no more.
        said = spark_tag.failure(0, ["trellis"], 1, "Error: <stdin>:1: invalid JSON at column 1\n",
                                 ['\ufffd\ufffd{\x00"\x00'], 0)
        self.assertTrue(said.endswith("is the input UTF-16? iconv -f UTF-16 -t UTF-8"), said)
        output = self.path("out-lost")
        for lost, reason, status in (
                (spark_tag.Py4JError("Error while sending or receiving"),
                 "Spark stopped during the job (Error while sending or receiving)", 1),
                (ConnectionRefusedError(111, "Connection refused"),
                 "Spark stopped during the job ([Errno 111] Connection refused)", 1),
                (KeyboardInterrupt(), "interrupted (SIGINT)", 130)):
            def lose_the_driver(*arguments):
                os.makedirs(output)
                raise lost

            context = mock.Mock()
            context.stop.side_effect = ConnectionRefusedError(111, "Connection refused")
            with mock.patch.object(spark_tag, "SparkContext", return_value=context), \
                    mock.patch.object(spark_tag, "hadoop_inputs",
                                      return_value=(["r"], [], True)), \
                    mock.patch.object(spark_tag, "check_tag_options"), \
                    mock.patch.object(spark_tag, "tag_corpus", side_effect=lose_the_driver), \
                    mock.patch("sys.stderr", new_callable=io.StringIO) as said, \
                    self.assertRaises(SystemExit) as ended:
                spark_tag.main(["--trellis", self.trellis, "--model", self.model, "--input",
                                self.requests, "--output", output])
            self.assertEqual(ended.exception.code, status)
            self.assertEqual(
                said.getvalue(),
                f"spark_tag: {reason}\nspark_tag: the job failed; remove {output}/, which it "
                "leaves behind, before running it again\n")
            os.rmdir(output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
