/* iotsec for C, send throughput (bench/run.sh runs this; see bench/README.md). One mode per
 * process: connect, --warmup messages (ids w0...), then --count measured ones (ids m0...), each
 * a guide-sized security message (validated before it is sent); prints one JSON line.
 *
 *   bench_c --mode await|pipelined --port P --ca CA.pem --body FILE [--count N] [--warmup N]
 *           [--inflight N] [--device ID]
 *   bench_c --overhead --body FILE          (per-call costs, one JSON line)
 *
 * The Azure IoT C SDK's idiom, with its names: IoTHubMessage_CreateFromByteArray,
 * IoTHubMessage_SetMessageId, IoTHubMessage_SetAsSecurityMessage,
 * IoTHubDeviceClient_SendEventAsync with a confirmation callback, IoTHubMessage_Destroy right
 * after the send call. "await": wait for each confirmation before the next send; "pipelined":
 * send everything, then wait for every confirmation.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "iotsec.h"

static const char *KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

static void die(const char *what) {
    const char *why = iotsec_last_error_message();
    fprintf(stderr, "bench_c: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    exit(1);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_us(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

/* Peak resident set of this process image (VmHWM; getrusage's ru_maxrss also counts the
 * parent's memory before the exec). */
static long vm_hwm_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return kb;
}

static char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    data[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* Confirmations: counted, and the sender woken when the count it waits for is reached. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static size_t confirmed;
static atomic_size_t failed;

static void confirm(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    (void)context;
    if (result != IOTHUB_CLIENT_CONFIRMATION_OK) atomic_fetch_add(&failed, 1);
    pthread_mutex_lock(&lock);
    confirmed++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

static void wait_confirmed(size_t target) {
    pthread_mutex_lock(&lock);
    while (confirmed < target) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void send_one(IOTHUB_DEVICE_CLIENT_HANDLE client, const char *body, size_t size, const char *prefix, size_t i) {
    char id[32];
    snprintf(id, sizeof id, "%s%zu", prefix, i);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, size);
    if (m == NULL) die("IoTHubMessage_CreateFromByteArray");
    if (IoTHubMessage_SetMessageId(m, id) != IOTHUB_MESSAGE_OK) die("IoTHubMessage_SetMessageId");
    if (IoTHubMessage_SetAsSecurityMessage(m) != IOTHUB_MESSAGE_OK) die("IoTHubMessage_SetAsSecurityMessage");
    if (IoTHubDeviceClient_SendEventAsync(client, m, confirm, NULL) != IOTHUB_CLIENT_OK) die("IoTHubDeviceClient_SendEventAsync");
    IoTHubMessage_Destroy(m);
}

/* Sends n messages; returns when all are confirmed. */
static void send_all(IOTHUB_DEVICE_CLIENT_HANDLE client, const char *body, size_t size, int pipelined, const char *prefix, size_t n) {
    pthread_mutex_lock(&lock);
    size_t base = confirmed;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++) {
        send_one(client, body, size, prefix, i);
        if (!pipelined) wait_confirmed(base + i + 1);
    }
    wait_confirmed(base + n);
}

/* Nanoseconds per call: the best of 5 timed loops of at least 0.2 s each. */
#define PER_CALL_NS(result, statement)                                    \
    do {                                                                  \
        size_t n_ = 1000;                                                 \
        double best_ = 1e300;                                             \
        for (int round_ = 0; round_ < 5; round_++) {                      \
            for (;;) {                                                    \
                double t0_ = now_s();                                     \
                for (size_t i_ = 0; i_ < n_; i_++) { statement; }         \
                double e_ = now_s() - t0_;                                \
                if (e_ >= 0.2) {                                          \
                    if (e_ * 1e9 / (double)n_ < best_) best_ = e_ * 1e9 / (double)n_; \
                    break;                                                \
                }                                                         \
                n_ *= 2;                                                  \
            }                                                             \
        }                                                                 \
        result = best_;                                                   \
    } while (0)

static void overhead(const char *body, size_t size) {
    const unsigned char *b = (const unsigned char *)body;
    if (iotsec_is_valid(b, size) != 1) die("the bench message is not valid");
    double create, create_mid, topic, validate, is_valid;
    PER_CALL_NS(create, {
        IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(b, size);
        IoTHubMessage_SetAsSecurityMessage(m);
        IoTHubMessage_Destroy(m);
    });
    PER_CALL_NS(create_mid, {
        IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(b, size);
        IoTHubMessage_SetMessageId(m, "m12345");
        IoTHubMessage_SetAsSecurityMessage(m);
        IoTHubMessage_Destroy(m);
    });
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(b, size);
    IoTHubMessage_SetMessageId(m, "m12345");
    IoTHubMessage_SetAsSecurityMessage(m);
    PER_CALL_NS(topic, { iotsec_string_free(iotsec_message_topic(m, "bench-overhead", NULL)); });
    IoTHubMessage_Destroy(m);
    PER_CALL_NS(validate, {
        char *v = iotsec_validate(b, size);
        if (v == NULL || strcmp(v, "[]") != 0) die("iotsec_validate");
        iotsec_string_free(v);
    });
    PER_CALL_NS(is_valid, {
        if (iotsec_is_valid(b, size) != 1) die("iotsec_is_valid");
    });
    printf("{\"create_flag_ns\":%.1f,\"create_flag_mid_ns\":%.1f,\"topic_ns\":%.1f,\"validate_ns\":%.1f,\"is_valid_ns\":%.1f}\n",
           create, create_mid, topic, validate, is_valid);
}

int main(int argc, char **argv) {
    const char *mode = NULL, *port = "8883", *ca = NULL, *body_file = NULL, *device = "bench-c", *inflight = "100";
    size_t count = 20000, warmup = 1000;
    int want_overhead = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--overhead") == 0) { want_overhead = 1; continue; }
        if (i + 1 >= argc) { fprintf(stderr, "bench_c: %s needs a value\n", argv[i]); return 2; }
        const char *k = argv[i], *v = argv[++i];
        if (strcmp(k, "--mode") == 0) mode = v;
        else if (strcmp(k, "--port") == 0) port = v;
        else if (strcmp(k, "--ca") == 0) ca = v;
        else if (strcmp(k, "--body") == 0) body_file = v;
        else if (strcmp(k, "--device") == 0) device = v;
        else if (strcmp(k, "--inflight") == 0) inflight = v;
        else if (strcmp(k, "--count") == 0) count = strtoul(v, NULL, 10);
        else if (strcmp(k, "--warmup") == 0) warmup = strtoul(v, NULL, 10);
        else { fprintf(stderr, "bench_c: unknown argument %s\n", k); return 2; }
    }
    if (body_file == NULL) { fprintf(stderr, "bench_c: --body is required\n"); return 2; }
    size_t size;
    char *body = read_file(body_file, &size);
    if (IoTHub_Init() != 0) die("IoTHub_Init");
    if (want_overhead) {
        overhead(body, size);
        IoTHub_Deinit();
        free(body);
        return 0;
    }
    if (mode == NULL || ca == NULL || (strcmp(mode, "await") != 0 && strcmp(mode, "pipelined") != 0)) {
        fprintf(stderr, "bench_c: --mode await|pipelined and --ca are required\n");
        return 2;
    }
    int pipelined = strcmp(mode, "pipelined") == 0;
    size_t pem_size;
    char *pem = read_file(ca, &pem_size);
    char cs[512];
    snprintf(cs, sizeof cs, "HostName=localhost;DeviceId=%s;SharedAccessKey=%s", device, KEY);

    double t0 = now_s();
    IOTHUB_DEVICE_CLIENT_HANDLE client = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    if (client == NULL) die("IoTHubDeviceClient_CreateFromConnectionString");
    if (IoTHubDeviceClient_SetOption(client, "TrustedCerts", pem) != IOTHUB_CLIENT_OK) die("TrustedCerts");
    if (IoTHubDeviceClient_SetOption(client, "iotsec.port", port) != IOTHUB_CLIENT_OK) die("iotsec.port");
    if (IoTHubDeviceClient_SetOption(client, "iotsec.max_in_flight", inflight) != IOTHUB_CLIENT_OK) die("iotsec.max_in_flight");
    if (iotsec_client_connect(client) != IOTSEC_OK) die("connect");
    double connect_ms = (now_s() - t0) * 1e3;

    send_all(client, body, size, pipelined, "w", warmup);
    double c0 = cpu_us(), t1 = now_s();
    send_all(client, body, size, pipelined, "m", count);
    double seconds = now_s() - t1, cpu = cpu_us() - c0;
    if (atomic_load(&failed) > 0) {
        fprintf(stderr, "bench_c: %zu sends were not confirmed OK\n", atomic_load(&failed));
        return 1;
    }
    iotsec_client_disconnect(client);
    IoTHubDeviceClient_Destroy(client);
    IoTHub_Deinit();
    printf("{\"mode\":\"%s\",\"count\":%zu,\"connect_ms\":%.3f,\"seconds\":%.4f,\"msgs_per_sec\":%.1f,\"cpu_us_per_msg\":%.3f,\"vm_hwm_kb\":%ld}\n",
           mode, count, connect_ms, seconds, (double)count / seconds, cpu / (double)count, vm_hwm_kb());
    free(pem);
    free(body);
    return 0;
}
