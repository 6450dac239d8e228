/*
 * trellis.h: the C interface of Trellis (libTrellisC.so), for callers in any language.
 *
 * A model is loaded once and used through an opaque handle; a batch of sentences goes in as
 * JSON lines and comes back as JSON lines, the schema of `trellis tag --input jsonl` (README,
 * "JSON lines"): the same function answers both, so their bytes are the same. Tokenised
 * sentences can also go in as one buffer and come back as arrays of label ids, spans and
 * confidences (trellis_tag_tokens), without JSON on either side.
 *
 * Memory: every `char *` a function returns, and every message it stores in `*error`, was
 * allocated by the library; release it with trellis_free_string. A model handle is released
 * with trellis_model_free, after the last call that uses it has returned.
 *
 * Errors never abort the process: a function that fails returns NULL and, when `error` is not
 * NULL, stores a message there (a NUL-terminated UTF-8 string the caller frees; NULL only
 * when memory for the message itself cannot be allocated). Using a handle after freeing it,
 * or a pointer that no function of this library returned, is undefined, as it is for any C
 * pointer. Running out of memory is no error but the end of the process: Swift cannot
 * recover from an allocation that fails, so under an address-space limit (`ulimit -v`) a
 * call may abort it ("Fatal error: failed to allocate"). A sentence of the most tokens a
 * call takes (100,000), with confidences, may need more than a gigabyte.
 *
 * Threads: every function may be called from several threads at once, on one handle too.
 * A tagging call runs on up to one thread per core this process may use (its CPU affinity and
 * cgroup quota, read once), the calling thread included, unless told fewer: "threads" in
 * trellis_tag_jsonl's options, TRELLIS_THREADS(n) in trellis_tag_tokens's flags. A caller that
 * tags from N threads of its own gives each call its share of the cores (1 keeps a call on its
 * caller's thread); left at the default, N calls at once run up to N x cores threads.
 *
 * Signals: loading the library starts the Swift runtime, whose crash reporter takes over the
 * process's SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP and SIGABRT (a SIGQUIT then
 * prints a crash report and the process goes on). A host that keeps its own sets
 * SWIFT_BACKTRACE=enable=no in its environment before the library loads, as the Python
 * package does for the load unless the variable is set.
 */
#ifndef TRELLIS_H
#define TRELLIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model. */
typedef struct trellis_model trellis_model;

/* The library's version (such as "0.7.1"): a static string, never freed. */
const char *trellis_version(void);

/*
 * Loads the model file at `path`, which is read as UTF-8. Returns a handle, or NULL with
 * `*error` saying why (a path that is not valid UTF-8, its invalid bytes shown as \xHH; no
 * such file, not a model, damaged, written by a newer Trellis). Loading and tagging never open
 * OpenBLAS (the system libopenblas): every product of theirs is Trellis's own.
 */
trellis_model *trellis_model_load(const char *path, char **error);

/*
 * Tags a batch of requests, one JSON object per line (LF or CRLF ends a line, and a lone CR
 * is JSON whitespace; a final line end is optional; a UTF-8 byte-order mark at the start is
 * skipped, and a mark alone is no line), as `trellis tag --input jsonl` reads a file:
 * {"id": ..., "tokens": ["a", "b"]} or {"id": ..., "text": "a b"}.
 * Returns one answer per line, in order, each ending with "\n" (an empty string for empty
 * input): {"id":...,"labels":[...],"spans":[...],"tokens":[...]}, or {"id":...,"error":"..."}
 * for a line that is not a valid request, is longer than 16 MiB (the command line's limit),
 * or holds more tokens than the model takes (100,000,
 * the most a sentence may hold in every input; fewer for a model of more than 167 labels, as
 * tokens × labels may be at most 2^24), the other lines still tagged.
 *
 * `options` is NULL, "" or a JSON object with any of
 *   "confidence"  true: add per-token "confidences" and the sentence "probability"
 *   "nbest"       K in 0...1000: add the K best label sequences ("nbest")
 *   "batch_size"  the most sentences per forward pass, 1...4096 (default 32)
 *   "constrained" false: decode without the tag scheme's transition constraints
 *   "threads"     the most threads the call tags on, 1...1024, the calling thread included
 *                 (default: one per core this process may use; see "Threads" above)
 * each count written as a JSON integer (1.0 and 1e0 are refused, as by the HTTP service).
 * Labels never depend on how sentences are grouped into calls and forward passes; confidences
 * and scores may differ by up to 1e-4 (the order of floating-point sums), and are the CLI's to
 * the last digit for the same passes: `trellis tag --batch-size N` on N lines or fewer, and
 * one call with them and "batch_size" N, for instance.
 *
 * Returns NULL with `*error` set when `model` or `jsonl` is NULL, the options are not valid
 * (strict JSON: no trailing comma, no byte-order mark), the options or the input are not
 * UTF-8, or the model reads feature columns (trained with `--feature-column`), which
 * requests of tokens or text cannot carry.
 */
char *trellis_tag_jsonl(
    const trellis_model *model, const char *jsonl, const char *options, char **error);

/* Flags of trellis_tag_tokens. */
enum {
  /* Write per-token confidences and sentence probabilities. */
  TRELLIS_CONFIDENCE = 1,
  /* Decode without the tag scheme's transition constraints. */
  TRELLIS_UNCONSTRAINED = 2,
};

/* A flag of trellis_tag_tokens: tag on at most `n` threads, 1...1024, the calling thread
   included, as "threads" does in trellis_tag_jsonl's options. Without it (or with n = 0), one
   per core this process may use (see "Threads" above). An n that the flags cannot hold
   (negative, or 2^22 and more) gives -1, which the call refuses naming TRELLIS_THREADS: as a
   plain shift, 2^24 wrapped to 0 threads (the default) and larger n were undefined. */
static inline int trellis_threads_flag(long long n) {
  return n >= 0 && n < (1LL << 22) ? (int)(n << 8) : -1;
}
#define TRELLIS_THREADS(n) trellis_threads_flag(n)

/*
 * Tags tokenised sentences as trellis_tag_jsonl tags {"tokens": [...]} requests, with the same
 * labels, spans and (for the same forward passes) confidences, but with no JSON on either side:
 * the form for callers that build their own result objects.
 *
 * In: `sentence_count` sentences of `lengths[i]` tokens (T tokens in all). `tokens` holds
 * every token in order, each as UTF-8 followed by one NUL byte: `tokens_size` bytes, exactly T
 * NULs (a token that contains NUL cannot be sent this way; trellis_tag_jsonl takes it).
 * `batch_size` is the most sentences per forward pass (1...4096; the other calls default to 32);
 * `flags` is 0, or any of TRELLIS_CONFIDENCE, TRELLIS_UNCONSTRAINED and TRELLIS_THREADS(n)
 * or-ed together.
 *
 * Out, in arrays the caller allocates (S = sentence_count):
 *   labels[T]         each token's label, as an index into the "outputLabels" array of
 *                     trellis_model_info (the labels trellis_tag_jsonl writes)
 *   span_counts[S]    how many spans each sentence has, and
 *   spans[2 T]        each span's first token and the token after its last, counted within its
 *                     sentence, the sentences' spans one after another (T pairs always suffice,
 *                     as spans never overlap). A span's label is "spanLabels"[labels[first]]
 *                     of trellis_model_info. Both NULL: no spans are written.
 *   probabilities[S]  with TRELLIS_CONFIDENCE, the probability of each sentence's labels (1
 *                     for an empty sentence, whose one labelling is the empty one), or NaN
 *                     for every sentence when the model's head defines no probabilities
 *                     ("definesProbabilities" false);
 *   confidences[T]    and P(label | sentence) for each token of the sentences with a
 *                     probability (left untouched for the others).
 * An array may be NULL when nothing would be written to it (T or S is 0, or no
 * TRELLIS_CONFIDENCE for the last two).
 *
 * Returns 0, or -1 with `*error` set (and the arrays' contents unspecified) when `model` is
 * NULL, an array is NULL where it is needed, `tokens` does not hold T NUL-terminated tokens,
 * a token is not UTF-8, a length is negative or above what the model takes (as for
 * trellis_tag_jsonl), the flags or batch size are not valid, or the model reads feature
 * columns.
 */
int trellis_tag_tokens(
    const trellis_model *model, const char *tokens, size_t tokens_size, const int32_t *lengths,
    size_t sentence_count, int batch_size, int flags, int32_t *labels, int32_t *span_counts,
    int32_t *spans, double *confidences, double *probabilities, char **error);

/*
 * What the model records, as one JSON object: the fields of `trellis info --json`, which are
 * "labels" (its label set), "configuration", "provenance" (how and on what it was trained;
 * absent for a model trained without one or read from a format-1 file, "missing" saying why),
 * "formatVersion", "parameters", "file" (the path it was loaded from), "fileBytes" (its size
 * when it was loaded, whatever the path holds now),
 * "definesProbabilities" (whether the head gives confidences), "outputLabels" (the labels
 * answers are written in: "labels", or for a model trained in another tag scheme than its
 * data's, every label of the data's scheme it can write) and "spanLabels" (for each of those,
 * the label of a span that starts with it): the tables of trellis_tag_tokens. NULL with
 * `*error` on failure.
 */
char *trellis_model_info(const trellis_model *model, char **error);

/* Releases a string this library returned; NULL is ignored. */
void trellis_free_string(char *string);

/* Releases a model handle; NULL is ignored. */
void trellis_model_free(trellis_model *model);

#ifdef __cplusplus
}
#endif

#endif /* TRELLIS_H */
