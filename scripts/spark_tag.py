#!/usr/bin/env python3
"""Tags a corpus of JSON-lines requests on Apache Spark with `trellis tag`.

    python scripts/spark_tag.py --trellis trellis-0.3.0/trellis --model atis.model \\
        --input requests.jsonl --output answers [--master 'local[2]'] [--partitions 8]

or the same arguments after `spark-submit --master yarn scripts/spark_tag.py`. The input is
JSON lines, one request per line (`{"id": …, "tokens": […]}` or `{"id": …, "text": …}`, the
README's "JSON lines"); the output directory (which must not exist) receives `part-*` files
of JSON-lines answers, each carrying its request's `id`, in no particular order across parts:
join by id.

Each partition's lines go through one `trellis tag --input jsonl --format json` process, a
line in and a line out, as `RDD.pipe` does. It is done here rather than with `RDD.pipe`
itself because the command must name the binary and the model where `SparkContext.addFile`
put them on the executor (`SparkFiles.get` there): `RDD.pipe` takes one command string made
on the driver, whose copies sit elsewhere on a cluster. A process that exits with a non-zero
status (killed, or refusing a line) fails the task, so Spark runs the partition again and
keeps only a complete attempt's output; answers depend only on their request, so a retried
partition answers exactly as the first attempt would have.

`trellis tag` gets `--threads` = `spark.task.cpus` (1 unless configured), so a task uses the
cores Spark gave it. The binary must run without a Swift toolchain (`make dist` builds one);
the executors need no BLAS (tagging never opens it). Arguments after `--` go to
`trellis tag` (e.g. `-- --confidence --on-error skip`).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

from pyspark import SparkConf, SparkContext, SparkFiles


def pipe_through_trellis(trellis_name, model_name, threads, tag_arguments):
    """A function for `mapPartitions`: feeds a partition's lines to one `trellis tag` process
    on the executor and yields its answer lines; raises when the process fails."""

    def tag_partition(lines):
        command = [
            SparkFiles.get(trellis_name), "tag", "--model", SparkFiles.get(model_name),
            "--input", "jsonl", "--format", "json", "--threads", str(threads), *tag_arguments,
        ]
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
            feeding_error = []
            feeder = threading.Thread(
                target=feed, args=(lines, process.stdin, feeding_error), daemon=True)
            feeder.start()
            for answer in process.stdout:
                yield answer.decode("utf-8").rstrip("\n")
            feeder.join()
            status = process.wait()
            stderr.seek(0)
            messages = stderr.read().decode("utf-8", "replace")
            if status != 0:
                # Spark retries the task, up to spark.task.maxFailures attempts in all.
                raise RuntimeError(
                    f"{' '.join(command)} ended with status {status}: {messages.strip()}")
            if feeding_error:
                raise feeding_error[0]
            sys.stderr.write(messages)

    return tag_partition


def feed(lines, stdin, errors):
    """Writes each line to `stdin` and closes it; an error is kept in `errors`, except a closed
    pipe, which only means the process ended early (its status says why)."""
    try:
        for line in lines:
            stdin.write(line.encode("utf-8") + b"\n")
    except BrokenPipeError:
        pass
    except Exception as error:  # re-raised on the task's thread
        errors.append(error)
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            pass


def tag_corpus(context, trellis, model, input_path, output_path, partitions, tag_arguments):
    """Ships `trellis` and `model` to the executors, tags every line of `input_path` and writes
    the answers to the directory `output_path`."""
    context.addFile(os.path.abspath(trellis))
    context.addFile(os.path.abspath(model))
    threads = int(context.getConf().get("spark.task.cpus", "1"))
    requests = context.textFile(input_path, minPartitions=partitions)
    answers = requests.mapPartitions(
        pipe_through_trellis(
            os.path.basename(trellis), os.path.basename(model), threads, tag_arguments))
    answers.saveAsTextFile(output_path)


def main(arguments):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trellis", required=True, help="the trellis binary to ship")
    parser.add_argument("--model", required=True, help="the model file to ship")
    parser.add_argument("--input", required=True, help="JSON-lines requests (a file, a glob)")
    parser.add_argument("--output", required=True, help="a new directory for the answers")
    parser.add_argument("--partitions", type=int, help="at least this many input partitions")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, or local[*])")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting")
    parser.add_argument("tag_arguments", nargs="*", help="after --: more `trellis tag` options")
    options = parser.parse_args(arguments)
    for path in (options.trellis, options.model):
        if not os.path.isfile(path):
            parser.error(f"{path}: no such file")
    if os.path.exists(options.output):
        parser.error(f"{options.output} exists; the answers go to a new directory")

    conf = SparkConf().setAppName("trellis tag").setIfMissing("spark.master", "local[*]")
    # Lines end at LF alone, as `trellis tag --input jsonl` reads them: Hadoop's default also
    # ends one at a lone CR, which is whitespace inside a JSON request, so such a request was
    # cut in two and failed its task. (A CRLF line keeps its CR, which is whitespace too.)
    conf.setIfMissing("spark.hadoop.textinputformat.record.delimiter", "\n")
    if options.master:
        conf.setMaster(options.master)
    for setting in options.conf:
        key, separator, value = setting.partition("=")
        if not separator:
            parser.error(f"--conf {setting}: expected KEY=VALUE")
        conf.set(key, value)
    context = SparkContext(conf=conf)
    try:
        started = time.monotonic()
        tag_corpus(
            context, options.trellis, options.model, options.input, options.output,
            options.partitions, options.tag_arguments)
        print(
            f"spark_tag: answers in {options.output}/ after {time.monotonic() - started:.2f} s "
            f"(Spark context started before)", file=sys.stderr)
    finally:
        context.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
