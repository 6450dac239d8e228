#!/usr/bin/env python3
"""Tags a corpus of JSON-lines requests on Apache Spark with `trellis tag`.

    python scripts/spark_tag.py --trellis trellis-0.7.1/trellis --model atis.model \\
        --input requests.jsonl --output answers [--master 'local[2]'] [--partitions 8]

or the same arguments after `spark-submit --master yarn scripts/spark_tag.py`. The input is
JSON lines, one request per line (`{"id": …, "tokens": […]}` or `{"id": …, "text": …}`, the
README's "JSON lines"); the output directory (which must not exist) receives `part-*` files
of JSON-lines answers (none for an empty input), each carrying its request's `id`, in no
particular order across parts: join by id.

Each partition's lines go through one `trellis tag --input jsonl --format json` process, a
line in and a line out, as `RDD.pipe` does, but with the binary and the model where
`SparkContext.addFile` put them on the executor (`SparkFiles.get` there), which one command
string made on the driver cannot name. A process that exits with a non-zero status, or
ends well without one answer a line, fails its task, so Spark runs the partition again;
answers depend only on their request, so a retry answers as the first would have. `trellis
tag` gets `--threads` = `spark.task.cpus`; arguments after `--` go to it (`-- --confidence
--on-error skip`). Refused lines, retries and checks before the job: README "Scaling out".
"""

import argparse
import contextlib
import fnmatch
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

from py4j.protocol import Py4JError, Py4JJavaError
from pyspark import SparkConf, SparkContext, SparkFiles

# How much of a refused line its error shows.
SHOWN_CHARACTERS = 200
# What a task's error says first, so the driver finds it in Spark's report of the failure.
FAILURE = "spark_tag: "
# `trellis tag` options the script gives every process, and why.
SCRIPT_TAG_OPTIONS = {
    "--model": "the shipped copy of its --model",
    "--input": "jsonl, the requests' format",
    "--format": "json, the answers' format",
    "--threads": "spark.task.cpus, the cores Spark gives a task; set that",
}
# The most `--partitions`: Hadoop makes a list of that many splits on the driver (2^31 - 1,
# Java's int, ran its JVM out of memory), and each partition starts a `trellis` process.
MOST_PARTITIONS = 1_000_000
# The characters that make a path a glob to Hadoop (its GlobPattern; `{a,b}` too).
GLOB_CHARACTERS = set("*?[{\\")


def pipe_through_trellis(trellis_name, model_name, threads, tag_arguments, errors, unjoinable):
    """A function for `mapPartitionsWithIndex`: feeds a partition's lines to one `trellis tag`
    process on the executor and yields its answer lines; raises when the process fails,
    naming the partition and, when trellis refused a line, the line. Adds the partition's
    error answers (`--on-error skip`) to the accumulator `errors`, and those without an id,
    which no request can be joined to, to `unjoinable`."""

    def tag_partition(index, lines):
        command = tag_command(
            SparkFiles.get(trellis_name), SparkFiles.get(model_name), threads, tag_arguments)
        with tempfile.TemporaryFile() as stderr:
            try:
                process = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
            except OSError as error:  # a binary that cannot run here
                raise RuntimeError(f"{FAILURE}partition {index}: {command[0]}: {error}") from None
            feeding_error, fed = [], []  # `fed` holds True once every line was written
            # The lines sent and not yet answered, oldest first. trellis answers in order, so
            # a line it refuses is among them, and they are only as many as it reads ahead.
            unanswered = deque()
            feeder = threading.Thread(
                target=feed, args=(lines, process.stdin, feeding_error, unanswered, fed),
                daemon=True)
            feeder.start()
            answered = error_count = unjoinable_count = 0
            extra = 0  # lines beyond one per request: not answers to them
            for answer in process.stdout:
                if not unanswered:
                    extra += 1
                    continue
                unanswered.popleft()
                answered += 1
                line = answer.decode("utf-8").rstrip("\n")
                if '"error":' in line:
                    fields = json.loads(line)
                    if "error" in fields:
                        error_count += 1
                        unjoinable_count += "id" not in fields
                yield line
            feeder.join()
            status = process.wait()
            stderr.seek(0)
            messages = stderr.read().decode("utf-8", "replace")
            if status != 0:
                # Spark retries the task, up to spark.task.maxFailures attempts in all.
                raise RuntimeError(
                    failure(index, command, status, messages, unanswered, answered))
            if feeding_error:
                raise feeding_error[0]
            # A process that ended well must have answered each line once: a count checked
            # nowhere let a run that answered none of them (a `trellis` that printed something
            # else) end with status 0 and every request lost.
            if unanswered or extra or not fed:
                raise RuntimeError(
                    f"{FAILURE}partition {index}: {' '.join(command)} ended with status 0 "
                    f"but wrote {answered + extra} line(s) for the partition's "
                    f"{answered + len(unanswered)}{'' if fed else ' or more'}: not one answer "
                    "a line")
            sys.stderr.write(messages)
            errors.add(error_count)
            unjoinable.add(unjoinable_count)

    return tag_partition


def tag_command(trellis, model, threads, tag_arguments):
    """The `trellis tag` of a task and of the driver's check. `-` names standard input: a file
    among `tag_arguments` is trellis's error, where it was read in place of the partition."""
    return [trellis, "tag", "--model", model, "--input", "jsonl", "--format", "json",
            "--threads", str(threads), "-", *tag_arguments]


def failure(index, command, status, messages, unanswered, answered):
    """Why partition `index`'s `command` failed: the line trellis refused (numbered within
    the partition, its opening shown), or the command, its status and its messages."""
    refusal = re.search(r"^Error: <stdin>:(\d+): (.*)$", messages, re.MULTILINE)
    if refusal:
        number = int(refusal.group(1))
        line = unanswered[number - answered - 1]
        shown = f", its first {SHOWN_CHARACTERS} characters" if len(line) > SHOWN_CHARACTERS else ""
        # Hadoop reads a UTF-16 file's bytes as UTF-8: a NUL beside each ASCII character.
        utf16 = "; NUL bytes: is the input UTF-16? iconv -f UTF-16 -t UTF-8" if "\0" in line else ""
        return (f"{FAILURE}partition {index}, line {number}: {refusal.group(2)} "
                f"(the line{shown}: {line[:SHOWN_CHARACTERS]!r}){utf16}")
    names = {number.value: number.name for number in signal.Signals}  # none for real-time ones
    ending = (f"ended with status {status}" if status >= 0
              else f"was killed by {names.get(-status, f'signal {-status}')}")
    said = f": {messages.strip()}" if messages.strip() else ""
    return f"{FAILURE}partition {index}: {' '.join(command)} {ending}{said}"


def feed(lines, stdin, errors, unanswered, fed):
    """Writes each line to `stdin`, after adding it to `unanswered`, and closes it, then puts
    True in `fed`; an error is kept in `errors`, except a closed pipe, which only means the
    process ended early (its status says why, or, if 0, that it left lines unread)."""
    try:
        for line in lines:
            unanswered.append(line)
            stdin.write(line.encode("utf-8") + b"\n")
        stdin.flush()
        fed.append(True)
    except BrokenPipeError:
        pass
    except Exception as error:  # re-raised on the task's thread
        errors.append(error)
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()


def tag_corpus(context, trellis, model, input_path, output_path, partitions, tag_arguments):
    """Ships `trellis` and `model` to the executors, tags every line of `input_path` and writes
    the answers to the directory `output_path`; returns how many answers hold "error", and
    how many of those have no id."""
    context.addFile(os.path.abspath(trellis))
    context.addFile(os.path.abspath(model))
    threads = task_threads(context)
    errors, unjoinable = context.accumulator(0), context.accumulator(0)
    requests = context.textFile(input_path, minPartitions=partitions)
    answers = requests.mapPartitionsWithIndex(
        pipe_through_trellis(
            os.path.basename(trellis), os.path.basename(model), threads, tag_arguments, errors,
            unjoinable))
    answers.saveAsTextFile(output_path)
    # A result task's updates count once, however often it ran (retries, speculation).
    return errors.value, unjoinable.value


def partition_count(text):
    """`--partitions`: a whole number from 1 to `MOST_PARTITIONS`."""
    count = int(text)
    if not 1 <= count <= MOST_PARTITIONS:
        raise argparse.ArgumentTypeError(f"must be in 1...{MOST_PARTITIONS} (got {count})")
    return count


def input_paths(text):
    """`--input`'s paths: split at commas outside braces, as Hadoop splits them (its
    FileInputFormat.getPathStrings, a `}` before any `{` included)."""
    paths, start, depth, in_glob = [], 0, 0, False
    for index, character in enumerate(text):
        if character == "{":
            depth, in_glob = depth + 1, True
        elif character == "}":
            depth -= 1
            in_glob = in_glob and depth != 0
        elif character == "," and not in_glob:
            paths.append(text[start:index])
            start = index + 1
    return paths + [text[start:]]


def local_path(text):
    """The local path a path or URL names (a `file:` URL's, after any `//authority`, taken as
    Hadoop takes it: `?` and `#` are a glob's and a name's, not a query and a fragment), or
    None for another file system's."""
    if not text.startswith("file:"):
        return None if "://" in text else text
    path = text[len("file:"):]
    return path[path.find("/", 2):] if path.startswith("//") and path.find("/", 2) >= 0 else path


def innermost_cause(exception):
    """The first line of the innermost cause of a Java exception: Spark wraps what failed (an
    input directory that holds a directory, say) in "Job aborted." and more."""
    while exception.getCause() is not None:
        exception = exception.getCause()
    return str(exception.toString()).splitlines()[0]


def is_hidden(name):
    """Whether Hadoop's text input skips a file or directory of this name, however named."""
    return name.startswith(("_", "."))


def is_bookkeeping(name):
    """Whether a hidden name is one Hadoop and Spark write beside their outputs (a job's
    output read as input skips them, as it should)."""
    return name in ("_SUCCESS", "_temporary", "_logs") or name.endswith(".crc")


def hadoop_inputs(context, path):
    """What Hadoop's file system finds at `path` (a glob: its matches; a directory: what it
    holds): the paths the job reads, the names it skips as hidden, its bookkeeping aside,
    and whether anything is there (an empty directory is)."""
    jvm_path = context._jvm.org.apache.hadoop.fs.Path(path)
    file_system = jvm_path.getFileSystem(context._jsc.hadoopConfiguration())
    read, skipped = [], []
    matches = file_system.globStatus(jvm_path) or []
    for match in matches:
        statuses = ([match] if is_hidden(match.getPath().getName()) or not match.isDirectory()
                    else file_system.listStatus(match.getPath()))
        for status in statuses:
            name = status.getPath().getName()
            if not is_hidden(name):
                read.append(status.getPath().toString())
            elif not is_bookkeeping(name):
                skipped.append(name)
    return read, skipped, bool(matches)


def job_failed(reason, output, status=1):
    """Ends the script with `status`, saying `reason` and the output directory to remove if
    the job left one (a local one: another file system's is named as possibly left)."""
    local = local_path(output)
    left = "if it left one" if local is None else "which it leaves behind"
    leftover = (f"; remove {output}/, {left}, before running it again"
                if local is None or os.path.exists(local) else "")
    print(f"{reason}\nspark_tag: the job failed{leftover}", file=sys.stderr)
    sys.exit(status)


def parse_arguments(arguments):
    """The options, with every mistake found without Spark refused (exit 2, no output made)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trellis", required=True, help="the trellis binary to ship")
    parser.add_argument("--model", required=True, help="the model file to ship")
    parser.add_argument(
        "--input", required=True,
        help="JSON-lines requests: files, directories or globs joined by commas, read as "
        "Hadoop reads paths (so no local name with a comma or a colon)")
    parser.add_argument("--output", required=True, help="a new directory for the answers")
    parser.add_argument(
        "--partitions", type=partition_count, help="at least this many input partitions")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, or local[*])")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting")
    parser.add_argument("tag_arguments", nargs="*", help="after --: more `trellis tag` options")
    options = parser.parse_args(arguments)
    check_shipped_files(parser, options)
    for argument in ("-h", "--help", "--version"):
        if argument in options.tag_arguments:
            parser.error(f"-- {argument}: trellis would print that instead of tagging")
    # The script sets these itself; a later one on trellis's command line would win: `--input
    # text` tagged each JSON request as a sentence of text, answers without ids, and exit 0.
    for given in options.tag_arguments:
        name = given.partition("=")[0]
        if name in SCRIPT_TAG_OPTIONS:
            parser.error(f"-- {given}: the script sets {name} itself ({SCRIPT_TAG_OPTIONS[name]})")
    options.settings = []
    for setting in options.conf:
        key, separator, value = setting.partition("=")
        if not separator:
            parser.error(f"--conf {setting}: expected KEY=VALUE")
        # Spark's own message for 0 was "/ by zero", with a Java trace.
        if key == "spark.task.cpus" and not (value.isdigit() and int(value) >= 1):
            parser.error(f"--conf {setting}: the cores of a task, a whole number from 1")
        options.settings.append((key, value))
    check_local_paths(parser, options)
    return parser, options


def check_shipped_files(parser, options):
    """Refuses a --trellis or --model that Spark cannot ship, or a --trellis no system runs."""
    for path in (options.trellis, options.model):
        if not os.path.isfile(path):
            parser.error(f"{path}: {'not a file' if os.path.exists(path) else 'no such file'}")
        # `SparkContext.addFile` reads its argument as a URI, where `#` begins a fragment:
        # the file was "not found", or refused for "a fragment component".
        if "#" in os.path.abspath(path):
            parser.error(
                f"{path}: Spark ships files by URI, where # begins a fragment: rename it, or "
                "link to it by a name without one")
    # Every task failed to start it ("Exec format error"), and the job left its output.
    with open(options.trellis, "rb") as binary:
        if not binary.read(4).startswith((b"\x7fELF", b"#!")):
            parser.error(f"--trellis {options.trellis}: not a program (an ELF binary or a "
                         "#! script)")
    # `SparkContext.addFile` keys the files it ships by name: the second was refused as "exists
    # and does not match contents", with a Java trace.
    if os.path.basename(options.trellis) == os.path.basename(options.model):
        parser.error(
            f"--trellis and --model are both named {os.path.basename(options.model)}, and Spark "
            "ships files by name: rename one")


def check_local_paths(parser, options):
    """Refuses local inputs (`file:` URLs too) Hadoop cannot read as asked, and an output that
    exists or lies in an input directory (by real paths: a link cannot hide it). A missing
    input failed the job after Spark had made the output; an output in an input directory
    was made, then read; a pipe (`--input /dev/stdin`) was read as empty: no answers, exit 0."""
    output = local_path(options.output)
    if output is not None and os.path.lexists(output):
        parser.error(f"{options.output} exists; the answers go to a new directory")
    for path in input_paths(options.input):
        local = local_path(path)
        if local is None or GLOB_CHARACTERS & set(local):
            # An output a glob matches, or one inside a match, is read by the glob's next run
            # (fnmatch's `*` also matches `/`, where Hadoop's does not: a stricter check).
            glob = None if local is None else os.path.abspath(local)
            if output is not None and glob is not None and any(
                    fnmatch.fnmatchcase(os.path.abspath(output), g) for g in (glob, glob + "/*")):
                parser.error(f"--output {options.output} is matched by the input glob {path}")
            continue
        if not os.path.exists(local):
            parser.error(f"--input {path}: no such file or directory")
        if not (os.path.isfile(local) or os.path.isdir(local)):
            parser.error(f"--input {path}: neither a file nor a directory (Hadoop reads a pipe "
                         "or a device as empty): write it to a file first")
        # Hadoop takes what precedes a colon in a name for a URI's scheme: the job failed
        # with "Relative path in absolute URI" (HADOOP-3257).
        names = ([os.path.basename(local)] if os.path.isfile(local)
                 else [name for name in os.listdir(local) if not is_hidden(name)])
        for name in names:
            if ":" in name:
                parser.error(f"--input {path}: Hadoop cannot read a local file whose name "
                             f"holds a colon ({name}): rename it, or link to it by a name "
                             "without one")
        if (output is not None and os.path.isdir(local) and os.path.realpath(output)
                .startswith(os.path.join(os.path.realpath(local), ""))):
            parser.error(f"--output {options.output} is inside the input directory {path}")


def start_spark(options):
    """The Spark context of `options`; ends the script saying why Spark does not start (a bad
    master, more cores a task than it has, no Java), where a trace was printed."""
    conf = SparkConf().setAppName("trellis tag").setIfMissing("spark.master", "local[*]")
    # Lines end at LF alone, as `trellis tag --input jsonl` reads them: Hadoop's default also
    # ends one at a lone CR, which is whitespace inside a JSON request, so such a request was
    # cut in two and failed its task. (A CRLF line keeps its CR, which is whitespace too.)
    conf.setIfMissing("spark.hadoop.textinputformat.record.delimiter", "\n")
    if options.master:
        conf.setMaster(options.master)
    for key, value in options.settings:
        conf.set(key, value)
    try:
        return SparkContext(conf=conf)
    except Py4JJavaError as error:
        sys.exit(f"{FAILURE}Spark did not start: {innermost_cause(error.java_exception)}")
    except Exception as error:  # PySpark's own (no Java), with a trace before
        said = (str(error).strip().splitlines() or [type(error).__name__])[0]
        sys.exit(f"{FAILURE}Spark did not start: {said}")


def check_inputs(parser, context, options):
    """Lists every input through Hadoop's globbing, as the job reads it (URLs, globs, other
    file systems), before the job makes the output: a URL or glob naming nothing failed the
    job after, and left it empty. An empty directory is read as an empty file: no answers. A
    file two inputs find (`a,a`, `dir,dir/a`, overlapping globs) was tagged twice."""
    files = set()
    for path in input_paths(options.input):
        try:
            read, skipped, found = hadoop_inputs(context, path)
        except Py4JJavaError as error:
            parser.error(f"--input {path}: Hadoop cannot list it: "
                         f"{innermost_cause(error.java_exception)}")
        shown = ", ".join(skipped[:3]) + (", …" if len(skipped) > 3 else "")
        if not read and skipped:
            parser.error(
                f"--input {path}: Hadoop's reading skips names that begin with _ or . "
                f"({shown}), and finds nothing else to read: rename them")
        if not found:
            parser.error(f"--input {path}: no such file or directory")
        again = files.intersection(read)
        if again:
            parser.error(f"--input {path}: {min(again)} is read by an earlier input too, and "
                         "would be tagged twice")
        files.update(read)
        # Beside files it reads, a hidden name is often no data (.DS_Store, a streaming job's
        # _spark_metadata), so it is only named.
        if skipped:
            print(f"spark_tag: --input {path}: Hadoop's reading skips {shown} (names that "
                  "begin with _ or .): rename any that holds requests", file=sys.stderr)


def check_tag_options(parser, context, options):
    """Runs `trellis tag` as every task will, on no requests, if the driver can run it (else
    it is built for the executors): a model that is not one, or an option after `--` out of
    range, failed every task and left the output directory."""
    command = tag_command(
        options.trellis, options.model, task_threads(context), options.tag_arguments)
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", check=False)
    except OSError:
        return
    # 126 and 127: the system's loader could not run it (a library or a glibc it lacks).
    if done.returncode not in (0, 126, 127):
        said = done.stderr.strip() or f"status {done.returncode}"
        parser.error(f"trellis tag refuses the job's options: {said}")


def task_threads(context):
    """`--threads` for each `trellis tag`: the cores Spark gives a task."""
    return int(context.getConf().get("spark.task.cpus", "1"))


def interrupt(number, frame):
    """SIGINT's handler: KeyboardInterrupt alone, py4j's logging of the call it interrupts off
    (Spark's own handler made a py4j call inside the one in progress: tracebacks of both)."""
    logging.disable(logging.CRITICAL)
    raise KeyboardInterrupt


def main(arguments):
    parser, options = parse_arguments(arguments)
    # Ctrl-C waits while Spark starts (a JVM launched then outlived the script) and while it
    # stops, which cancels the job; the script's last lines are its own.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    context = start_spark(options)
    signal.signal(signal.SIGINT, interrupt)
    failed = None  # (why, status)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        check_inputs(parser, context, options)
        check_tag_options(parser, context, options)
        started = time.monotonic()
        errors, unjoinable = tag_corpus(
            context, options.trellis, options.model, options.input, options.output,
            options.partitions, options.tag_arguments)
        print(
            f"spark_tag: answers in {options.output}/ after {time.monotonic() - started:.2f} s "
            f"(Spark context started before)", file=sys.stderr)
        if errors:
            print(
                f"spark_tag: {errors} answer(s) hold \"error\", {unjoinable} of them without an "
                "id (a line that is not a JSON object, or gives none), which no request can be "
                "joined to", file=sys.stderr)
    except KeyboardInterrupt:
        failed = (f"{FAILURE}interrupted (SIGINT)", 130)
    except Py4JJavaError as error:
        # Spark's report holds the task's error among Java and Python traces: said alone.
        task_error = re.search(rf"^RuntimeError: ({re.escape(FAILURE)}.*)$", str(error), re.M)
        failed = (task_error.group(1) if task_error
                  else f"{FAILURE}{innermost_cause(error.java_exception)}", 1)
    except (Py4JError, OSError) as error:
        # The driver's JVM ended (killed, out of memory): py4j lost its connection, and its
        # retry found no JVM (ConnectionRefusedError).
        said = (str(error).splitlines() or [type(error).__name__])[0]
        failed = (f"{FAILURE}Spark stopped during the job ({said})", 1)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        with contextlib.suppress(Py4JError, OSError):  # the JVM gone: nothing left to stop
            if failed and failed[1] == 130:
                context.setLogLevel("OFF")  # the cancelled tasks' errors
            context.stop()
    if failed:
        job_failed(failed[0], options.output, status=failed[1])


if __name__ == "__main__":
    main(sys.argv[1:])
