/*
 * A small test harness for the C tests of iotsec: TAP-style output ("ok - name" /
 * "not ok - name"), checks that record the file and line, timeouts that stretch under
 * valgrind (IOTSEC_TEST_TIMEOUT_SCALE), and helpers for files, sockets and callback results.
 */
#ifndef IOTSEC_TEST_CHECK_H
#define IOTSEC_TEST_CHECK_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../include/iotsec.h"

static int check_passed_cases;
static int check_failed_cases;
static int check_case_failures;

static inline void check_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "#   FAILED at %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    va_end(ap);
    const char *last = iotsec_last_error_message();
    if (last != NULL) {
        fprintf(stdout, "#   (iotsec last error on this thread: kind %u: %s)\n", iotsec_last_error_kind(), last);
    }
    fflush(stdout);
    check_case_failures++;
}

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) check_fail(__FILE__, __LINE__, "%s", #cond);                                                       \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        if (!(cond)) check_fail(__FILE__, __LINE__, __VA_ARGS__);                                                       \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                                             \
    do {                                                                                                               \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                                \
        if (check_a_ != check_b_) check_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, check_a_, check_b_); \
    } while (0)

#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *check_a_ = (a), *check_b_ = (b);                                                                   \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0)                                   \
            check_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, check_a_ ? check_a_ : "(NULL)",        \
                       check_b_ ? check_b_ : "(NULL)");                                                                \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                                               \
    do {                                                                                                               \
        const char *check_h_ = (haystack), *check_n_ = (needle);                                                       \
        if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL)                                                    \
            check_fail(__FILE__, __LINE__, "%s contains \"%s\" (it is \"%s\")", #haystack, check_n_,                    \
                       check_h_ ? check_h_ : "(NULL)");                                                                \
    } while (0)

#define RUN(test)                                                                                                      \
    do {                                                                                                               \
        check_case_failures = 0;                                                                                       \
        fprintf(stdout, "# %s\n", #test);                                                                              \
        fflush(stdout);                                                                                                \
        test();                                                                                                        \
        if (check_case_failures == 0) {                                                                                \
            check_passed_cases++;                                                                                      \
            fprintf(stdout, "ok - %s\n", #test);                                                                       \
        } else {                                                                                                       \
            check_failed_cases++;                                                                                      \
            fprintf(stdout, "not ok - %s\n", #test);                                                                   \
        }                                                                                                              \
        fflush(stdout);                                                                                                \
    } while (0)

/* Prints the totals and returns the exit code. */
static inline int check_summary(const char *program) {
    fprintf(stdout, "# %s: %d passed, %d failed\n", program, check_passed_cases, check_failed_cases);
    fflush(stdout);
    return check_failed_cases == 0 && check_passed_cases > 0 ? 0 : 1;
}

static inline double check_timeout_scale(void) {
    const char *s = getenv("IOTSEC_TEST_TIMEOUT_SCALE");
    double v = s ? atof(s) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

/* Seconds, scaled for slow runs (valgrind). */
static inline double check_timeout(double seconds) { return seconds * check_timeout_scale(); }

static inline double check_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void check_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The value of a required environment variable (the test script sets them). */
static inline const char *check_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stdout, "Bail out! environment variable %s is not set (run this through scripts/test-c.sh)\n", name);
        exit(2);
    }
    return v;
}

/* A whole file, NUL-terminated (malloc'ed; NULL if unreadable). */
static inline char *check_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* How many lines of `path` contain every one of the NULL-terminated `needles`. */
static inline int check_count_lines(const char *path, const char *const *needles) {
    char *text = check_read_file(path, NULL);
    if (text == NULL) return 0;
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        bool all = true;
        for (const char *const *n = needles; *n != NULL; n++) {
            if (strstr(line, *n) == NULL) {
                all = false;
                break;
            }
        }
        if (all) count++;
    }
    free(text);
    return count;
}

/* Waits until at least `n` lines of `path` contain all `needles`; returns the count seen. */
static inline int check_wait_lines(const char *path, const char *const *needles, int n, double seconds) {
    double deadline = check_now() + check_timeout(seconds);
    int count;
    while ((count = check_count_lines(path, needles)) < n && check_now() < deadline) check_sleep_ms(50);
    return count;
}

/* Standard base64 (the recorder's payload_base64); malloc'ed. */
static inline char *check_base64(const unsigned char *data, size_t len) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* A socket on 127.0.0.1 that accepts TCP connections (the kernel completes them into the
 * backlog) but never reads or answers: a TLS/MQTT handshake against it hangs. */
static inline int check_silent_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("silent listener");
        exit(2);
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

/* A 127.0.0.1 port nothing listens on (connections are refused). */
static inline int check_closed_port(void) {
    int port;
    int fd = check_silent_listener(&port);
    close(fd);
    return port;
}

/* Outcomes of send callbacks, shared with iotsec's threads. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int calls;
    int by_result[8];     /* IOTHUB_CLIENT_CONFIRMATION_RESULT values */
    int by_status[16];    /* iotsec_status values */
    int wrong_context;
    unsigned last_kind;   /* iotsec_last_error_kind() inside the last callback */
    char last_text[512];  /* iotsec_last_error_message() inside the last callback */
    pthread_t last_thread;
} check_outcomes;

static inline void check_outcomes_init(check_outcomes *o) {
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->changed, NULL);
}

static inline void check_outcomes_free(check_outcomes *o) {
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->changed);
}

static inline void check_outcomes_record(check_outcomes *o, int result, int status, bool context_ok) {
    pthread_mutex_lock(&o->lock);
    o->calls++;
    if (result >= 0 && result < 8) o->by_result[result]++;
    if (status >= 0 && status < 16) o->by_status[status]++;
    if (!context_ok) o->wrong_context++;
    o->last_kind = iotsec_last_error_kind();
    const char *text = iotsec_last_error_message();
    snprintf(o->last_text, sizeof o->last_text, "%s", text ? text : "");
    o->last_thread = pthread_self();
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->lock);
}

/* Waits until `n` callbacks ran; returns the number seen. */
static inline int check_outcomes_wait(check_outcomes *o, int n, double seconds) {
    double deadline = check_now() + check_timeout(seconds);
    pthread_mutex_lock(&o->lock);
    while (o->calls < n && check_now() < deadline) {
        pthread_mutex_unlock(&o->lock);
        check_sleep_ms(10);
        pthread_mutex_lock(&o->lock);
    }
    int calls = o->calls;
    pthread_mutex_unlock(&o->lock);
    return calls;
}

static inline int check_outcomes_calls(check_outcomes *o) {
    pthread_mutex_lock(&o->lock);
    int calls = o->calls;
    pthread_mutex_unlock(&o->lock);
    return calls;
}

#endif
