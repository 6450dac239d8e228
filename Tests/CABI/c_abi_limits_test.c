/*
 * The C ABI at the process's limits (c_abi_test.c runs it): a host out of file descriptors,
 * in a child process of its own, so the test's own process keeps its descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "c_abi_test.h"

/* The child: every descriptor up to its limit taken, then `sample` tagged on two threads;
   exits 0 when the answers are the CLI's. */
static void tag_without_descriptors(const trellis_model *model, const char *sample,
                                    const char *sample_cli) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(3);
  if (limit.rlim_cur > 256) limit.rlim_cur = 256;  /* a limit of millions took seconds to fill */
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(3);
  while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0) {}
  if (errno != EMFILE) _exit(4);
  char *error = NULL;
  char *answers = trellis_tag_jsonl(model, sample, "{\"threads\": 2}", &error);
  _exit(answers && strcmp(answers, sample_cli) == 0 ? 0 : 1);
}

void test_out_of_descriptors(const trellis_model *model, const char *sample,
                             const char *sample_cli) {
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) tag_without_descriptors(model, sample, sample_cli);
  int status = 0;
  waitpid(child, &status, 0);
  check(child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "a first call on two threads in a process out of file descriptors tags on the calling "
        "thread and gives the CLI's bytes (exit status %d%s; libdispatch, unable to start "
        "there, had killed it with SIGILL)",
        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
        WIFSIGNALED(status) ? ", a signal" : "");
}
