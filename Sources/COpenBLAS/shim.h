// Debian's libopenblas-dev puts cblas.h on pkg-config's include path; liblapacke-dev puts
// lapacke.h in /usr/include. Both are C headers, imported here as one Clang module.
#include <cblas.h>
#include <lapacke.h>
