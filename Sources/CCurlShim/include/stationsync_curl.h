#ifndef STATIONSYNC_CURL_H
#define STATIONSYNC_CURL_H
#include <curl/curl.h>

// Fixed-signature wrappers for libcurl's variadic curl_easy_setopt / curl_easy_getinfo,
// which Swift cannot call directly. Each passes its argument through with the C type the
// option expects.

CURLcode stationsync_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode stationsync_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode stationsync_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode stationsync_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode stationsync_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode stationsync_curl_setopt_write_function(CURL *handle, curl_write_callback callback);
CURLcode stationsync_curl_setopt_header_function(CURL *handle, curl_write_callback callback);

CURLcode stationsync_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode stationsync_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode stationsync_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);

#endif
