#ifndef SETTLE_CCURL_SHIM_H
#define SETTLE_CCURL_SHIM_H
#include <curl/curl.h>

/* Swift cannot call C variadic functions; these typed wrappers stand in for
   curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt. */
static inline CURLcode settle_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode settle_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode settle_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode settle_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
typedef size_t (*settle_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode settle_curl_easy_setopt_write_function(CURL *handle, CURLoption option, settle_curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode settle_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode settle_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode settle_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode settle_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}
static inline curl_version_info_data *settle_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}
#endif
