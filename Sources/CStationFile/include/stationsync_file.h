#ifndef STATIONSYNC_FILE_H
#define STATIONSYNC_FILE_H
#include <stdint.h>

/// The birth time of the file at `path` (statx STATX_BTIME): 0 and the time in `sec`/`nsec`, or
/// -1 where the system or the file system does not keep it. A copy of a file is born anew, and a
/// new file that reuses a deleted file's inode number has another birth time.
int stationsync_birth_time(const char *path, int64_t *sec, uint32_t *nsec);

#endif
