#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include "stationsync_file.h"

int stationsync_birth_time(const char *path, int64_t *sec, uint32_t *nsec) {
#ifdef STATX_BTIME
    struct statx s;
    if (statx(AT_FDCWD, path, 0, STATX_BTIME, &s) != 0) return -1;
    if (!(s.stx_mask & STATX_BTIME)) return -1;
    *sec = (int64_t)s.stx_btime.tv_sec;
    *nsec = s.stx_btime.tv_nsec;
    return 0;
#else
    (void)path; (void)sec; (void)nsec;
    return -1;
#endif
}
