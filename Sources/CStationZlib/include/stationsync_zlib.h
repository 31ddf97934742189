#ifndef STATIONSYNC_ZLIB_H
#define STATIONSYNC_ZLIB_H
#include <stddef.h>
#include <stdint.h>

// A thin streaming wrapper over zlib for the gzip format (RFC 1952, windowBits 31), so that
// Swift never sees z_stream or zlib's init macros. A stream is opaque; create it with
// stationsync_gzip_*_begin, feed it with stationsync_gzip_deflate/_inflate, free it with
// stationsync_gzip_end.

typedef struct stationsync_gzip_stream stationsync_gzip_stream;

// Result codes (mirrors of zlib's).
enum {
    STATIONSYNC_Z_OK = 0,
    STATIONSYNC_Z_STREAM_END = 1,
    STATIONSYNC_Z_NEED_DICT = 2,
    STATIONSYNC_Z_ERRNO = -1,
    STATIONSYNC_Z_STREAM_ERROR = -2,
    STATIONSYNC_Z_DATA_ERROR = -3,
    STATIONSYNC_Z_MEM_ERROR = -4,
    STATIONSYNC_Z_BUF_ERROR = -5,
    STATIONSYNC_Z_VERSION_ERROR = -6,
};

// level: 0...9, or -1 for zlib's default. Returns NULL on failure.
stationsync_gzip_stream *stationsync_gzip_deflate_begin(int level);
// Returns NULL on failure.
stationsync_gzip_stream *stationsync_gzip_inflate_begin(void);

// One deflate() call over in[0..<in_len] into out[0..<out_cap]. finish != 0 means no more
// input follows (Z_FINISH). Reports how much input was consumed and how much output produced.
// Returns a zlib code (Z_OK, Z_STREAM_END when finished, Z_BUF_ERROR when no progress).
int stationsync_gzip_deflate(stationsync_gzip_stream *s, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, int finish,
                             size_t *in_used, size_t *out_used);

// One inflate() call, as above. Returns Z_STREAM_END at the end of a gzip member.
int stationsync_gzip_inflate(stationsync_gzip_stream *s, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *in_used, size_t *out_used);

// Restarts an inflate stream for the next gzip member. Returns a zlib code.
int stationsync_gzip_inflate_reset(stationsync_gzip_stream *s);

// zlib's message for the last error, or NULL.
const char *stationsync_gzip_message(const stationsync_gzip_stream *s);

void stationsync_gzip_end(stationsync_gzip_stream *s);

#endif
