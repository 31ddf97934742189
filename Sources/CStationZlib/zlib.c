#include "stationsync_zlib.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct stationsync_gzip_stream {
    z_stream z;
    int inflating;
};

// gzip wrapper, 32 KiB window.
static const int gzip_window_bits = 15 + 16;

stationsync_gzip_stream *stationsync_gzip_deflate_begin(int level) {
    stationsync_gzip_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (deflateInit2(&s->z, level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(s);
        return NULL;
    }
    s->inflating = 0;
    return s;
}

stationsync_gzip_stream *stationsync_gzip_inflate_begin(void) {
    stationsync_gzip_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (inflateInit2(&s->z, gzip_window_bits) != Z_OK) {
        free(s);
        return NULL;
    }
    s->inflating = 1;
    return s;
}

static uInt clamp(size_t n) { return n > UINT_MAX ? UINT_MAX : (uInt)n; }

int stationsync_gzip_deflate(stationsync_gzip_stream *s, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, int finish,
                             size_t *in_used, size_t *out_used) {
    uInt avail_in = clamp(in_len), avail_out = clamp(out_cap);
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = avail_in;
    s->z.next_out = out;
    s->z.avail_out = avail_out;
    // Only finish once all of the caller's input fits in this call.
    int flush = (finish && (size_t)avail_in == in_len) ? Z_FINISH : Z_NO_FLUSH;
    int rc = deflate(&s->z, flush);
    *in_used = avail_in - s->z.avail_in;
    *out_used = avail_out - s->z.avail_out;
    return rc;
}

int stationsync_gzip_inflate(stationsync_gzip_stream *s, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *in_used, size_t *out_used) {
    uInt avail_in = clamp(in_len), avail_out = clamp(out_cap);
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = avail_in;
    s->z.next_out = out;
    s->z.avail_out = avail_out;
    int rc = inflate(&s->z, Z_NO_FLUSH);
    *in_used = avail_in - s->z.avail_in;
    *out_used = avail_out - s->z.avail_out;
    return rc;
}

int stationsync_gzip_inflate_reset(stationsync_gzip_stream *s) { return inflateReset(&s->z); }

const char *stationsync_gzip_message(const stationsync_gzip_stream *s) { return s ? s->z.msg : NULL; }

void stationsync_gzip_end(stationsync_gzip_stream *s) {
    if (!s) return;
    if (s->inflating) inflateEnd(&s->z);
    else deflateEnd(&s->z);
    free(s);
}
