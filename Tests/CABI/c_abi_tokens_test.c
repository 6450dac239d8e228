/*
 * trellis_tag_tokens, tested from C: its labels and spans, written out as the CLI writes an
 * answer, must be the CLI's answers to the same sentences byte for byte, and its confidences
 * the CLI's numbers for the same forward passes; then its input forms, refusals and threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_abi_test.h"

/* Sentences in the token call's form: each token NUL-terminated, `size` bytes in all. */
struct batch {
  char *tokens;
  size_t size;
  int32_t *lengths;
  size_t sentence_count;
  size_t token_count;
  const char **token_at; /* [token_count]: where each token starts in `tokens` */
};

/* The token column (the first field) of each blank-line-separated sentence of a CoNLL file,
   as python/tools/conll_to_jsonl.py reads it for the CLI's requests. */
static struct batch read_conll(const char *path) {
  char *text = read_file(path);
  size_t lines = line_count(text) + 1;
  struct batch batch = {malloc(strlen(text) + 1), 0, calloc(lines, sizeof(int32_t)), 0, 0,
                        calloc(lines, sizeof(char *))};
  for (const char *line = text; *line;) {
    const char *start = line + strspn(line, " \t\r\f\v");
    size_t length = strcspn(start, " \t\r\f\v\n");
    if (length > 0) {
      batch.token_at[batch.token_count++] = batch.tokens + batch.size;
      memcpy(batch.tokens + batch.size, start, length);
      batch.tokens[batch.size + length] = '\0';
      batch.size += length + 1;
      batch.lengths[batch.sentence_count]++;
    } else if (batch.lengths[batch.sentence_count] > 0) {
      batch.sentence_count++;
    }
    const char *end = strchr(line, '\n');
    line = end ? end + 1 : line + strlen(line);
  }
  if (batch.lengths[batch.sentence_count] > 0) batch.sentence_count++;
  free(text);
  return batch;
}

/* The strings of the JSON array `"key":[...]` in `json`, which must hold no escapes; NULL when
   it is absent or escaped. Their number goes to *count. */
static char **string_array(const char *json, const char *key, size_t *count) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":[", key);
  const char *start = json ? strstr(json, pattern) : NULL;
  if (!start) return NULL;
  start += strlen(pattern);
  const char *end = strchr(start, ']');
  if (!end || memchr(start, '\\', (size_t)(end - start))) return NULL;
  char **strings = calloc((size_t)(end - start) / 2 + 1, sizeof(char *));
  *count = 0;
  for (const char *quote = start; quote < end && *quote == '"';) {
    const char *close = strchr(quote + 1, '"');
    strings[(*count)++] = strndup(quote + 1, (size_t)(close - quote - 1));
    quote = close + 1 + (close[1] == ',');
  }
  return strings;
}

/* A growing string. */
struct text {
  char *data;
  size_t length, capacity;
};

static void append(struct text *text, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  int needed = vsnprintf(NULL, 0, format, arguments);
  va_end(arguments);
  if (text->length + (size_t)needed + 1 > text->capacity) {
    text->capacity = 2 * (text->length + (size_t)needed + 1);
    text->data = realloc(text->data, text->capacity);
  }
  va_start(arguments, format);
  vsnprintf(text->data + text->length, (size_t)needed + 1, format, arguments);
  va_end(arguments);
  text->length += (size_t)needed;
}

/* Whether every token is printable ASCII without '"' or '\', so that its JSON string is
   itself in quotes and its characters are its bytes. */
static int plain_tokens(const struct batch *batch) {
  for (const char *c = batch->tokens; c < batch->tokens + batch->size; c++) {
    if (*c && (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')) return 0;
  }
  return 1;
}

/* The table of label names the token call's ids index, from trellis_model_info. */
struct labels {
  char **output;
  char **span;
  size_t count;
};

/* Appends the answer line `trellis tag --input jsonl` writes for the request {"id":ID,
   "tokens":[...]} of `length` `tokens`, from the token call's labels and spans. */
static void append_answer(struct text *line, size_t id, const char **tokens, int32_t length,
                          const int32_t *labels, const int32_t *spans, int32_t span_count,
                          const struct labels *table) {
  append(line, "{\"id\":%zu,\"labels\":[", id);
  for (int32_t t = 0; t < length; t++) {
    append(line, "%s\"%s\"", t ? "," : "", table->output[labels[t]]);
  }
  append(line, "],\"spans\":[");
  for (int32_t s = 0; s < span_count; s++) {
    int32_t start = spans[2 * s], end = spans[2 * s + 1];
    size_t start_char = 0, end_char;
    for (int32_t t = 0; t < start; t++) start_char += strlen(tokens[t]) + 1;
    end_char = start_char;
    for (int32_t t = start; t < end; t++) end_char += strlen(tokens[t]) + (t > start);
    append(line, "%s{\"end\":%d,\"end_char\":%zu,\"label\":\"%s\",\"start\":%d,"
           "\"start_char\":%zu,\"text\":\"", s ? "," : "", end, end_char,
           table->span[labels[start]], start, start_char);
    for (int32_t t = start; t < end; t++) append(line, "%s%s", t > start ? " " : "", tokens[t]);
    append(line, "\"}");
  }
  append(line, "],\"tokens\":[");
  for (int32_t t = 0; t < length; t++) append(line, "%s\"%s\"", t ? "," : "", tokens[t]);
  append(line, "]}\n");
}

/* The token call's answers to `batch`, every array allocated here (freed by free_answers). */
struct answers {
  int status;
  char *error;
  int32_t *labels, *span_counts, *spans;
  double *confidences, *probabilities;
};

static struct answers tag(const trellis_model *model, const struct batch *batch,
                          size_t sentence_count, int batch_size, int flags) {
  size_t tokens = 0, size = 0;
  for (size_t s = 0; s < sentence_count; s++) tokens += (size_t)batch->lengths[s];
  for (size_t t = 0; t < tokens; t++) size += strlen(batch->token_at[t]) + 1;
  struct answers answers = {0, NULL, calloc(tokens + 1, sizeof(int32_t)),
                            calloc(sentence_count + 1, sizeof(int32_t)),
                            calloc(2 * tokens + 1, sizeof(int32_t)),
                            calloc(tokens + 1, sizeof(double)),
                            calloc(sentence_count + 1, sizeof(double))};
  answers.status = trellis_tag_tokens(
      model, batch->tokens, size, batch->lengths, sentence_count, batch_size, flags,
      answers.labels, answers.span_counts, answers.spans, answers.confidences,
      answers.probabilities, &answers.error);
  return answers;
}

static void free_answers(struct answers *answers) {
  trellis_free_string(answers->error);
  free(answers->labels);
  free(answers->span_counts);
  free(answers->spans);
  free(answers->confidences);
  free(answers->probabilities);
}

static void test_answers_equal_cli(const trellis_model *model, const struct batch *batch,
                                   const char *cli, const struct labels *table) {
  struct answers answers = tag(model, batch, batch->sentence_count, 32, 0);
  struct text lines = {NULL, 0, 0};
  append(&lines, "%s", "");
  const char **tokens = batch->token_at;
  const int32_t *labels = answers.labels, *spans = answers.spans;
  for (size_t s = 0; answers.status == 0 && s < batch->sentence_count; s++) {
    append_answer(&lines, s + 1, tokens, batch->lengths[s], labels, spans,
                  answers.span_counts[s], table);
    tokens += batch->lengths[s];
    labels += batch->lengths[s];
    spans += 2 * answers.span_counts[s];
  }
  check(answers.status == 0 && strcmp(lines.data, cli) == 0,
        "trellis_tag_tokens's labels and spans on the test split (%zu sentences), written as "
        "the CLI writes them, are its answers byte for byte (%s)", batch->sentence_count,
        answers.error ? answers.error : "no error");
  free(lines.data);
  free_answers(&answers);
}

/* Each answer's "confidences" and sentence "probability", read with strtod, against the token
   call's doubles for the same pass: the same bits. */
static void test_confidences(const trellis_model *model, const struct batch *batch,
                             const char *sample_nbest, size_t sample_lines) {
  struct answers answers = tag(model, batch, sample_lines, (int)sample_lines, TRELLIS_CONFIDENCE);
  size_t compared = 0, differing = 0, token = 0;
  const char *line = sample_nbest;
  for (size_t s = 0; answers.status == 0 && s < sample_lines; s++) {
    char *number = strstr(line, "\"confidences\":[") + strlen("\"confidences\":[");
    for (int32_t t = 0; t < batch->lengths[s]; t++, token++, compared++) {
      differing += strtod(number, &number) != answers.confidences[token];
      number++; /* the "," or "]" */
    }
    const char *probability = strstr(line, "}],\"probability\":") + strlen("}],\"probability\":");
    differing += strtod(probability, NULL) != answers.probabilities[s];
    compared++;
    line = strchr(line, '\n') + 1;
  }
  check(answers.status == 0 && compared > 1000 && differing == 0,
        "with TRELLIS_CONFIDENCE and the CLI's passes, its %zu confidences and probabilities "
        "are the CLI's to the bit (%zu differ)", compared, differing);
  free_answers(&answers);
}

static void test_input_forms(const trellis_model *model, const struct labels *table) {
  char *error = NULL;
  check(trellis_tag_tokens(model, NULL, 0, NULL, 0, 32, TRELLIS_CONFIDENCE, NULL, NULL, NULL,
                           NULL, NULL, &error) == 0 && error == NULL,
        "an empty batch is tagged, with every array NULL");
  /* An empty sentence, then "zürich", "🙂" and an empty token. */
  static const char tokens[] = "z\xc3\xbcrich\0\xf0\x9f\x99\x82\0";
  const int32_t lengths[] = {0, 3};
  int32_t labels[3], span_counts[2], spans[6];
  double confidences[3], probabilities[2];
  int status = trellis_tag_tokens(model, tokens, sizeof tokens, lengths, 2, 32,
                                  TRELLIS_CONFIDENCE, labels, span_counts, spans, confidences,
                                  probabilities, &error);
  char *answer = trellis_tag_jsonl(
      model, "{\"tokens\":[]}\n{\"tokens\":[\"z\xc3\xbcrich\",\"\xf0\x9f\x99\x82\",\"\"]}",
      "{\"confidence\":true}", NULL);
  char expected[512] = "";
  if (status == 0) {
    snprintf(expected, sizeof expected, "\"labels\":[\"%s\",\"%s\",\"%s\"]",
             table->output[labels[0]], table->output[labels[1]], table->output[labels[2]]);
  }
  check(status == 0
          && contains(answer, "{\"confidences\":[],\"labels\":[],\"probability\":1,"
                              "\"spans\":[],\"tokens\":[]}\n")
          && contains(answer, expected) && span_counts[0] == 0 && probabilities[0] == 1
          && probabilities[1] > 0 && probabilities[1] <= 1 && confidences[2] > 0,
        "an empty sentence (no spans or confidences, probability 1), UTF-8 and empty "
        "tokens: the JSON call's labels (%s)", error ? error : expected);
  trellis_free_string(answer);
  trellis_free_string(error);
  const int32_t one[] = {1};
  check(trellis_tag_tokens(model, "boston", 6, one, 1, 32, 0, labels, NULL, NULL, NULL, NULL,
                           NULL) == -1,
        "a refusal without an error pointer returns -1 all the same");
  labels[0] = -1;
  check(trellis_tag_tokens(model, "boston", 7, one, 1, 32, 0, labels, NULL, NULL, NULL, NULL,
                           NULL) == 0 && labels[0] >= 0 && labels[0] < (int32_t)table->count,
        "spans are optional: span_counts and spans both NULL");
}

/* Calls the token call with one argument changed and expects it refused with `expected`. */
static void check_refused(const trellis_model *model, const char *tokens, size_t size,
                          const int32_t *lengths, size_t count, int batch_size, int flags,
                          int with_labels, int with_spans, const char *expected,
                          const char *what) {
  int32_t labels[4], span_counts[4], spans[8];
  char *error = NULL;
  int status = trellis_tag_tokens(model, tokens, size, lengths, count, batch_size, flags,
                                  with_labels ? labels : NULL, with_spans & 1 ? span_counts : NULL,
                                  with_spans & 2 ? spans : NULL, NULL, NULL, &error);
  check(status == -1 && contains(error, expected), "%s: error \"%s\"", what,
        error ? error : "(none)");
  trellis_free_string(error);
}

static void test_refusals(const trellis_model *model) {
  /* One more than Sentence.tokenLimit: refused at its length, before its tokens are read. */
  const int32_t one[] = {1}, negative[] = {-1}, too_long[] = {100001};
  const char *boston = "boston";
  check_refused(NULL, boston, 7, one, 1, 32, 0, 1, 3, "NULL", "a NULL handle");
  check_refused(model, boston, 7, one, 1, 32, 4, 1, 3, "flags", "an unknown flag");
  check_refused(model, boston, 7, one, 1, 32, -1, 1, 3, "flags", "negative flags");
  check_refused(model, boston, 7, one, 1, 32, TRELLIS_THREADS(1025), 1, 3,
                "TRELLIS_THREADS(n): n must be in 1...1024 (got 1025)", "1025 threads");
  /* 2^24 threads shifted into an int wrapped to 0 (the default), and the call ran. */
  check_refused(model, boston, 7, one, 1, 32, TRELLIS_THREADS(1 << 24), 1, 3,
                "TRELLIS_THREADS(n) takes n in 1...1024", "2^24 threads");
  check_refused(model, boston, 7, one, 1, 32, TRELLIS_THREADS(-1), 1, 3,
                "TRELLIS_THREADS(n) takes n in 1...1024", "-1 threads");
  check_refused(model, boston, 7, one, 1, 0, 0, 1, 3, "batch_size", "batch size 0");
  check_refused(model, boston, 7, one, 1, 5000, 0, 1, 3, "batch_size", "batch size 5000");
  check_refused(model, "\xff", 2, one, 1, 32, 0, 1, 3, "UTF-8", "a token that is not UTF-8");
  check_refused(model, boston, 6, one, 1, 32, 0, 1, 3, "end before", "a token without NUL");
  check_refused(model, "a\0b", 4, one, 1, 32, 0, 1, 3, "bytes after",
                "more tokens than the lengths count (a NUL inside a token)");
  check_refused(model, boston, 7, negative, 1, 32, 0, 1, 3, "negative", "a negative length");
  check_refused(model, boston, 7, too_long, 1, 32, 0, 1, 3, "sentence 0: 100001 tokens",
                "a sentence longer than a sentence may be");
  check_refused(model, boston, 7, one, 1, 32, 0, 0, 3, "labels is NULL", "no labels array");
  check_refused(model, boston, 7, one, 1, 32, 0, 1, 2, "span_counts", "spans without span_counts");
  check_refused(model, boston, 7, one, 1, 32, 0, 1, 1, "spans (with", "span_counts without spans");
  check_refused(model, boston, 7, one, 1, 32, TRELLIS_CONFIDENCE, 1, 3, "confidences",
                "confidence without its arrays");
  check_refused(model, boston, 7, NULL, 1, 32, 0, 1, 3, "lengths is NULL", "no lengths");
  check_refused(model, NULL, 7, one, 1, 32, 0, 1, 3, "tokens is NULL", "no tokens");
}

struct tokens_job {
  const trellis_model *model;
  const struct batch *batch;
  size_t sentence_count;
  const int32_t *expected;
  size_t token_count;
  int mismatches;
};

static void *tag_tokens_repeatedly(void *argument) {
  struct tokens_job *job = argument;
  for (int round = 0; round < 3; round++) {
    struct answers answers = tag(job->model, job->batch, job->sentence_count, 32, 0);
    job->mismatches += answers.status != 0
        || memcmp(answers.labels, job->expected, job->token_count * sizeof(int32_t)) != 0;
    free_answers(&answers);
  }
  return NULL;
}

static void test_threads(const trellis_model *model, const struct batch *batch,
                         size_t sentence_count) {
  struct answers reference = tag(model, batch, sentence_count, 32, 0);
  size_t token_count = 0;
  for (size_t s = 0; s < sentence_count; s++) token_count += (size_t)batch->lengths[s];
  /* TRELLIS_THREADS(n) sets the call's threads, beside the other flags; the labels do not
     depend on it (it was refused as an unknown flag). */
  for (int threads = 0; threads <= 2; threads++) {
    struct answers answers = tag(model, batch, sentence_count, 32,
                                 TRELLIS_THREADS(threads) | TRELLIS_CONFIDENCE);
    check(answers.status == 0 && reference.status == 0
            && memcmp(answers.labels, reference.labels, token_count * sizeof(int32_t)) == 0,
          "TRELLIS_THREADS(%d) is taken beside another flag and gives the same labels (%s)",
          threads, answers.error ? answers.error : "no error");
    free_answers(&answers);
  }
  enum { thread_count = 4 };
  pthread_t threads[thread_count];
  struct tokens_job jobs[thread_count];
  for (int i = 0; i < thread_count; i++) {
    jobs[i] = (struct tokens_job){model, batch, sentence_count, reference.labels, token_count, 0};
    pthread_create(&threads[i], NULL, tag_tokens_repeatedly, &jobs[i]);
  }
  int mismatches = 0;
  for (int i = 0; i < thread_count; i++) {
    pthread_join(threads[i], NULL);
    mismatches += jobs[i].mismatches;
  }
  check(reference.status == 0 && mismatches == 0,
        "4 threads x 3 token calls on one handle give the same labels (%d differ)", mismatches);
  free_answers(&reference);
}

void test_tokens(const trellis_model *model, const char *conll_path, const char *cli,
                 const char *sample_nbest, size_t sample_lines) {
  struct batch batch = read_conll(conll_path);
  char *info = trellis_model_info(model, NULL);
  struct labels table = {NULL, NULL, 0};
  size_t span_count = 0;
  table.output = string_array(info, "outputLabels", &table.count);
  table.span = string_array(info, "spanLabels", &span_count);
  check(table.output && table.span && table.count == span_count && table.count > 2
          && plain_tokens(&batch) && batch.sentence_count == line_count(cli),
        "info has outputLabels and spanLabels (%zu each); the test split's %zu sentences have "
        "plain ASCII tokens", table.count, batch.sentence_count);
  if (table.output && table.span && table.count == span_count && plain_tokens(&batch)) {
    test_answers_equal_cli(model, &batch, cli, &table);
    test_confidences(model, &batch, sample_nbest, sample_lines);
    test_input_forms(model, &table);
  }
  test_refusals(model);
  test_threads(model, &batch, sample_lines);
  for (size_t i = 0; i < table.count; i++) free(table.output[i]);
  for (size_t i = 0; i < span_count; i++) free(table.span[i]);
  free(table.output);
  free(table.span);
  trellis_free_string(info);
  free(batch.tokens);
  free(batch.lengths);
  free(batch.token_at);
}
