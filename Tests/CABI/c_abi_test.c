/*
 * The C ABI of libTrellisC.so (Sources/TrellisC/include/trellis.h), tested from C as a
 * foreign caller sees it. `make c-abi-test` builds this (and c_abi_tokens_test.c, the token
 * call's tests, and c_abi_limits_test.c, the process's limits) with the system cc and runs
 *
 *   c_abi_test MODEL TEST.jsonl TEST.cli.jsonl SAMPLE.jsonl SAMPLE.cli-nbest.jsonl TEST.conll
 *
 * where TEST.jsonl holds the sentences of TEST.conll as requests, TEST.cli.jsonl is `trellis
 * tag --input jsonl` on them, SAMPLE is their first lines and SAMPLE.cli-nbest.jsonl its
 * answers with --confidence --nbest 3 --batch-size (SAMPLE's line count): the library must
 * give the same bytes. The slower checks (n-best, threads) use the sample, since `make test`
 * runs this on a debug build.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "c_abi_test.h"

static int passed, failed;

void check(int condition, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  printf("%s - ", condition ? "ok" : "FAILED");
  vprintf(format, arguments);
  printf("\n");
  va_end(arguments);
  if (condition) passed++; else failed++;
}

char *read_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) { perror(path); exit(2); }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  if (!text || fread(text, 1, (size_t)size, file) != (size_t)size) { perror(path); exit(2); }
  text[size] = '\0';
  fclose(file);
  return text;
}

int contains(const char *text, const char *part) {
  return text && strstr(text, part) != NULL;
}

/* Tags `input` expecting an error that mentions `expected`; frees what it gets. */
static void check_refused(const trellis_model *model, const char *input, const char *options,
                          const char *expected, const char *what) {
  char *error = NULL;
  char *answer = trellis_tag_jsonl(model, input, options, &error);
  check(answer == NULL && contains(error, expected), "%s: error \"%s\"", what,
        error ? error : "(none)");
  trellis_free_string(answer);
  trellis_free_string(error);
}

static void test_loading(void) {
  const char *version = trellis_version();
  check(version && version[0] >= '0' && version[0] <= '9' && strchr(version, '.'),
        "trellis_version() is a version number: %s", version ? version : "(null)");
  char *error = NULL;
  trellis_model *missing = trellis_model_load("/nonexistent/model.trellis", &error);
  check(missing == NULL && contains(error, "/nonexistent/model.trellis"),
        "a missing model file is an error naming it: %s", error ? error : "(none)");
  trellis_free_string(error);
  check(trellis_model_load("/nonexistent", NULL) == NULL, "NULL error pointer is allowed");
  error = NULL;
  trellis_model *not_model = trellis_model_load("Makefile", &error);
  check(not_model == NULL && contains(error, "Makefile"),
        "a file that is not a model is refused: %s", error ? error : "(none)");
  trellis_free_string(error);
  error = NULL;
  check(trellis_model_load(NULL, &error) == NULL && error != NULL, "a NULL path is an error");
  trellis_free_string(error);
  trellis_model_free(NULL);
  trellis_free_string(NULL);
}

/* A path that is not valid UTF-8, of a model file that is there (a hard link to it), is
   refused as such with its bytes shown: read with U+FFFD in place of the invalid byte, the
   file was looked for under that other name and reported missing. */
static void test_path_not_utf8(const char *model_path) {
  char latin1[4096];
  snprintf(latin1, sizeof latin1, "%s-latin1-\xe9", model_path);
  unlink(latin1);
  char *error = NULL;
  trellis_model *model = link(model_path, latin1) == 0 ? trellis_model_load(latin1, &error) : NULL;
  check(model == NULL && contains(error, "-latin1-\\xE9\" is not valid UTF-8"),
        "a path that is not UTF-8 is refused as such: %s", error ? error : "(none)");
  trellis_model_free(model);
  trellis_free_string(error);
  unlink(latin1);
}

/* The first `lines` lines of `text` (a copy). */
static char *first_lines(const char *text, size_t lines) {
  const char *end = text;
  for (size_t line = 0; line < lines && *end; line++) end = strchr(end, '\n') + 1;
  return strndup(text, (size_t)(end - text));
}

size_t line_count(const char *text) {
  size_t count = 0;
  for (; *text; text++) count += *text == '\n';
  return count;
}

static void test_answers(const trellis_model *model, const char *requests, const char *cli,
                         const char *sample, const char *sample_cli, const char *sample_nbest) {
  char *error = NULL;
  char *answers = trellis_tag_jsonl(model, requests, NULL, &error);
  check(answers && strcmp(answers, cli) == 0,
        "the test split's answers equal trellis tag --input jsonl byte for byte (%zu bytes)",
        answers ? strlen(answers) : 0);
  trellis_free_string(answers);
  trellis_free_string(error);
  /* Confidences depend (within 1e-4) on which sentences share a forward pass: the CLI tagged
     the sample with --batch-size SAMPLE_LINES, one pass, and so does this call. */
  char options[100];
  snprintf(options, sizeof options, "{\"confidence\": true, \"nbest\": 3, \"batch_size\": %zu}",
           line_count(sample));
  answers = trellis_tag_jsonl(model, sample, options, &error);
  check(answers && strcmp(answers, sample_nbest) == 0,
        "with confidence and nbest 3 they equal tag --confidence --nbest 3 (%zu bytes)",
        answers ? strlen(answers) : 0);
  trellis_free_string(answers);
  answers = trellis_tag_jsonl(model, sample, "{\"batch_size\": 1}", &error);
  check(answers && strcmp(answers, sample_cli) == 0, "batch size 1 gives the same bytes");
  trellis_free_string(answers);
}

/* The threads of this process. */
static int thread_count(void) {
  DIR *tasks = opendir("/proc/self/task");
  int count = 0;
  for (struct dirent *entry; tasks && (entry = readdir(tasks));) count += entry->d_name[0] != '.';
  if (tasks) closedir(tasks);
  return count;
}

/* {"threads": 1} keeps the call on the caller's thread and gives the same bytes. Run before any
   other tagging call, so that no worker thread of an earlier call is there to be reused: by
   default the sample's 100 lines are parsed and answered on two threads where there are two
   cores. ("threads" was an unknown key: every call ran on one thread per core.) */
static void test_one_thread(const trellis_model *model, const char *sample,
                            const char *sample_cli) {
  int before = thread_count();
  char *error = NULL;
  char *answers = trellis_tag_jsonl(model, sample, "{\"threads\": 1}", &error);
  int after = thread_count();
  check(answers && strcmp(answers, sample_cli) == 0 && after == before,
        "{\"threads\": 1} tags on the calling thread alone (%d threads before, %d after) and "
        "gives the CLI's bytes (%s)", before, after, error ? error : "no error");
  trellis_free_string(answers);
  trellis_free_string(error);
}

static void test_input_forms(const trellis_model *model) {
  char *error = NULL;
  char *empty = trellis_tag_jsonl(model, "", "", &error);
  check(empty && strcmp(empty, "") == 0, "empty input gives an empty answer");
  trellis_free_string(empty);
  const char *lf = "{\"id\":1,\"tokens\":[\"to\",\"boston\"]}\n"
                   "{\"id\":2,\"text\":\"from denver\"}\n";
  const char *crlf = "{\"id\":1,\"tokens\":[\"to\",\"boston\"]}\r\n"
                     "{\"id\":2,\"text\":\"from denver\"}";
  char *lf_answer = trellis_tag_jsonl(model, lf, NULL, &error);
  char *crlf_answer = trellis_tag_jsonl(model, crlf, NULL, &error);
  const char *bom = "\xef\xbb\xbf{\"id\":1,\"tokens\":[\"to\",\"boston\"]}";
  char *bom_answer = trellis_tag_jsonl(model, bom, NULL, &error);
  check(lf_answer && crlf_answer && strcmp(lf_answer, crlf_answer) == 0,
        "CRLF and a missing final line end read as LF does");
  const char *lone_cr = "{\"id\":1,\r\"tokens\":[\"to\",\r\"boston\"]}\r\n"
                        "{\"id\":2,\"text\":\"from denver\"}\r";
  char *lone_cr_answer = trellis_tag_jsonl(model, lone_cr, NULL, &error);
  check(lf_answer && lone_cr_answer && strcmp(lf_answer, lone_cr_answer) == 0,
        "a lone CR is JSON whitespace inside a request, not a line end: %s",
        lone_cr_answer ? lone_cr_answer : "(null)");
  trellis_free_string(lone_cr_answer);
  check(bom_answer && strncmp(bom_answer, lf_answer, strlen(bom_answer)) == 0,
        "a byte-order mark before the first line is skipped");
  trellis_free_string(bom_answer);
  char *lone_bom = trellis_tag_jsonl(model, "\xef\xbb\xbf", NULL, &error);
  check(lone_bom && lone_bom[0] == '\0',
        "a byte-order mark alone is no line, as the command line reads it: %s",
        lone_bom ? lone_bom : "(null)");
  trellis_free_string(lone_bom);
  // A line of 16 MiB and a byte more, past the command line's limit ({"text":"aaa…"}), then a
  // good one: answered as `trellis tag --on-error skip` answers them.
  size_t long_size = (16u << 20) + 1;
  const char *next = "\n{\"tokens\":[\"boston\"]}";
  char *long_input = malloc(long_size + strlen(next) + 1);
  memset(long_input, 'a', long_size);
  memcpy(long_input, "{\"text\":\"", 9);
  memcpy(long_input + long_size - 2, "\"}", 2);
  strcpy(long_input + long_size, next);
  char *long_answer = trellis_tag_jsonl(model, long_input, NULL, &error);
  const char *too_long = "{\"error\":\"the line is longer than 16 MiB; is this a text file?\"}\n"
                         "{\"labels\":";
  check(long_answer && strncmp(long_answer, too_long, strlen(too_long)) == 0,
        "a line longer than 16 MiB is answered with an error and the next tagged: %.120s",
        long_answer ? long_answer : error);
  trellis_free_string(long_answer);
  free(long_input);
  check(contains(lf_answer, "{\"id\":2,\"text\":\"from denver\",\"labels\"")
          && contains(lf_answer, "\"tokens\":[\"from\",\"denver\"]}\n"),
        "text requests are tokenized: %s", lf_answer ? lf_answer : "(null)");
  trellis_free_string(lf_answer);
  trellis_free_string(crlf_answer);
  const char *mixed = "{\"id\":7,\"tokens\":3}\n\n{\"id\":8,\"tokens\":[\"boston\"]}\n";
  char *answer = trellis_tag_jsonl(model, mixed, NULL, &error);
  check(contains(answer, "{\"id\":7,\"error\":\"\\\"tokens\\\" must be an array of strings")
          && contains(answer, "\n{\"error\":\"empty line")
          && contains(answer, "{\"id\":8,\"labels\""),
        "bad lines are answered with errors and the others tagged: %s", answer ? answer : "(null)");
  trellis_free_string(answer);
}

static void test_refusals(const trellis_model *model) {
  const char *one = "{\"tokens\":[\"boston\"]}";
  check_refused(model, one, "{\"nbest\": 5000}", "nbest", "nbest out of range");
  check_refused(model, one, "{\"batch_size\": 0}", "batch_size", "batch size 0");
  check_refused(model, one, "{\"nbets\": 1}", "unknown key \"nbets\"", "a misspelt option");
  /* Named as JSON writes it: a NUL in it ended the message there ("unknown key "nbest"). */
  check_refused(model, one, "{\"nbest\\u0000x\": 1}", "unknown key \"nbest\\u0000x\"",
                "a key holding a NUL");
  check_refused(model, one, "{\"confidence\": 1}", "true or false", "a number for a flag");
  check_refused(model, one, "{\"nbest\": 1.5}", "integer", "a fraction for a count");
  check_refused(model, one, "{\"threads\": 0}", "options: \"threads\" must be in 1...1024 (got 0)",
                "threads 0");
  check_refused(model, one, "{\"threads\": true}", "\"threads\" must be an integer",
                "a flag for threads");
  check_refused(model, one, "{\"nbest\": 100000000000000000000}",
                "\"nbest\" must be in its range (got 100000000000000000000, beyond any 64-bit "
                "integer)",
                "an integer beyond any 64-bit one");
  /* Counts are integers as written, as the HTTP service reads them (1.0 was taken for 1). */
  check_refused(model, one, "{\"nbest\": 1.0}", "\"nbest\" must be an integer",
                "a whole number written with a fraction");
  check_refused(model, one, "{\"nbest\": 1e20}", "\"nbest\" must be an integer",
                "a whole number written with an exponent");
  check_refused(model, one, "nbest=3", "JSON object", "options that are not JSON");
  check_refused(model, one, "\xc2\xa0", "JSON object", "options of a no-break space");
  check_refused(model, one, "{\"nbest\": [[[3]]]}", "\"nbest\" must be an integer",
                "nested options");
  check_refused(model, one, "{\"nbest\": 3,}", "JSON object", "options with a trailing comma");
  check_refused(model, one, "\xef\xbb\xbf{\"nbest\": 3}", "JSON object",
                "options after a byte-order mark");
  check_refused(model, one, "{\"nbest\": 1, \"nbest\": 2}", "\"nbest\" is given twice",
                "a key given twice");
  check_refused(model, "{\"tokens\":[\"\xff\"]}", NULL, "UTF-8", "input that is not UTF-8");
  check_refused(model, one, "{\"nbest\xff\": 1}", "options are not valid UTF-8",
                "options that are not UTF-8");
  check_refused(model, NULL, NULL, "NULL", "NULL input");
  check_refused(NULL, one, NULL, "NULL", "a NULL handle");
  char *error = NULL;
  check(trellis_model_info(NULL, &error) == NULL && contains(error, "NULL"),
        "info on a NULL handle is an error");
  trellis_free_string(error);
}

static void test_info(const trellis_model *model, const char *path) {
  char *error = NULL;
  char *info = trellis_model_info(model, &error);
  check(contains(info, "\"labels\":[") && contains(info, "\"configuration\":{")
          && contains(info, "\"provenance\":{") && contains(info, path)
          && contains(info, "B-fromloc.city_name"),
        "model info names labels, configuration, provenance and file (%zu bytes)",
        info ? strlen(info) : 0);
  trellis_free_string(info);
}

/* "fileBytes" is the size of the file the model was loaded from, not of what its path holds
 * later: a copy is loaded, then replaced by one byte. */
static void test_file_bytes_at_load(const char *model_path) {
  char copy[] = "/tmp/trellis-c-abi-XXXXXX";
  int descriptor = mkstemp(copy);
  FILE *source = fopen(model_path, "rb");
  FILE *target = descriptor >= 0 ? fdopen(descriptor, "wb") : NULL;
  char buffer[1 << 16];
  size_t count, size = 0;
  while (source && target && (count = fread(buffer, 1, sizeof buffer, source)) > 0) {
    size += fwrite(buffer, 1, count, target);
  }
  if (source) fclose(source);
  if (target) fclose(target);
  char *error = NULL;
  trellis_model *model = trellis_model_load(copy, &error);
  FILE *replaced = fopen(copy, "wb");
  if (replaced) {
    fputc('x', replaced);
    fclose(replaced);
  }
  char *info = model ? trellis_model_info(model, &error) : NULL;
  char expected[64];
  snprintf(expected, sizeof expected, "\"fileBytes\":%zu,", size);
  check(contains(info, expected), "model info gives the size at load: %s", expected);
  trellis_free_string(info);
  trellis_free_string(error);
  trellis_model_free(model);
  unlink(copy);
}

/* Loading, describing and tagging a model never open OpenBLAS: none of it runs a BLAS product,
 * and opening the library maps it and starts its thread pool in the caller's process. */
static void test_no_blas_opened(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps)) found |= strstr(line, "libopenblas") != NULL;
  if (maps) fclose(maps);
  check(maps && !found, "loading, describing and tagging left OpenBLAS unopened");
}

struct tagging_job {
  const trellis_model *model;
  const char *requests;
  const char *expected;
  int mismatches;
};

static void *tag_repeatedly(void *argument) {
  struct tagging_job *job = argument;
  for (int round = 0; round < 3; round++) {
    char *answers = trellis_tag_jsonl(job->model, job->requests, NULL, NULL);
    if (!answers || strcmp(answers, job->expected) != 0) job->mismatches++;
    trellis_free_string(answers);
  }
  return NULL;
}

static void test_threads(const trellis_model *model, const char *requests, const char *cli) {
  enum { thread_count = 4 };
  pthread_t threads[thread_count];
  struct tagging_job jobs[thread_count];
  for (int i = 0; i < thread_count; i++) {
    jobs[i] = (struct tagging_job){model, requests, cli, 0};
    pthread_create(&threads[i], NULL, tag_repeatedly, &jobs[i]);
  }
  int mismatches = 0;
  for (int i = 0; i < thread_count; i++) {
    pthread_join(threads[i], NULL);
    mismatches += jobs[i].mismatches;
  }
  check(mismatches == 0, "4 threads x 3 batches on one handle give the CLI's bytes (%d differ)",
        mismatches);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr,
            "usage: %s MODEL TEST.jsonl TEST.cli.jsonl SAMPLE.jsonl SAMPLE.cli-nbest.jsonl "
            "TEST.conll\n", argv[0]);
    return 2;
  }
  char *requests = read_file(argv[2]), *cli = read_file(argv[3]);
  char *sample = read_file(argv[4]), *sample_nbest = read_file(argv[5]);
  char *sample_cli = first_lines(cli, line_count(sample));
  test_loading();
  test_path_not_utf8(argv[1]);
  char *error = NULL;
  trellis_model *model = trellis_model_load(argv[1], &error);
  if (!model) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], error);
    return 1;
  }
  test_one_thread(model, sample, sample_cli);
  test_out_of_descriptors(model, sample, sample_cli);
  test_answers(model, requests, cli, sample, sample_cli, sample_nbest);
  test_input_forms(model);
  test_refusals(model);
  test_info(model, argv[1]);
  test_file_bytes_at_load(argv[1]);
  test_threads(model, sample, sample_cli);
  test_tokens(model, argv[6], cli, sample_nbest, line_count(sample));
  test_no_blas_opened();
  trellis_model_free(model);
  free(requests);
  free(cli);
  free(sample);
  free(sample_cli);
  free(sample_nbest);
  printf("c-abi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
