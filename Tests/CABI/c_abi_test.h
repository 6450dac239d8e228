/* What the two files of the C ABI test share (c_abi_test.c defines it). */
#ifndef C_ABI_TEST_H
#define C_ABI_TEST_H

#include <stddef.h>

#include "trellis.h"

/* Prints "ok - ..." or "FAILED - ..." and counts it. */
void check(int condition, const char *format, ...);

/* The whole file as a NUL-terminated string; exits when it cannot be read. */
char *read_file(const char *path);

/* Whether `text` contains `part`; NULL contains nothing. */
int contains(const char *text, const char *part);

/* The number of "\n" in `text`. */
size_t line_count(const char *text);

/* trellis_tag_tokens on the sentences of the CoNLL file `conll_path` against the CLI's
   answers `cli` (batch size 32) and, for the first `sample_lines` sentences tagged in one
   pass, `sample_nbest` (with confidences); and its refusals, input forms and threads. */
void test_tokens(const trellis_model *model, const char *conll_path, const char *cli,
                 const char *sample_nbest, size_t sample_lines);

/* In a child process whose every file descriptor is taken, the first call of the process that
   tags on two threads gives the CLI's answers `sample_cli` to `sample` (c_abi_limits_test.c):
   to be called before any call that tags on more than one thread. */
void test_out_of_descriptors(const trellis_model *model, const char *sample,
                             const char *sample_cli);

#endif /* C_ABI_TEST_H */
