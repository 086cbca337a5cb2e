/*
 * Connection status callbacks (IoTHubDeviceClient_SetConnectionStatusCallback, as in the Azure
 * IoT C SDK, and iotsec_client_set_connection_callback) against a real local hub that this
 * program starts, kills by its PID (SIGKILL) and starts again on the same port with the same
 * data: AUTHENTICATED, UNAUTHENTICATED/NO_NETWORK, AUTHENTICATED again; a message sent during
 * the outage is confirmed after the reconnect and stored by the hub. A 5 s SAS token is renewed:
 * UNAUTHENTICATED/EXPIRED_SAS_TOKEN, then AUTHENTICATED. A first connection that fails TLS is
 * UNAUTHENTICATED/COMMUNICATION_ERROR. No callback runs after Destroy returns.
 *
 * Environment: IOTSEC_TEST_HUB_BIN (the iotsec CLI), IOTSEC_TEST_WRONG_CA_FILE,
 * IOTSEC_TEST_TLS_PORT (mosquitto, for the TLS failure).
 */
#include "check.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

/* ---- a private hub -------------------------------------------------------------------- */

typedef struct {
    char dir[256];
    char data_dir[300];
    char ca_file[400];
    int port;
    pid_t pid;
    int starts;
} hub;

static void hub_start(hub *h) {
    h->starts++;
    char ready[400], log[400], port[16];
    snprintf(ready, sizeof ready, "%s/ready-%d.json", h->dir, h->starts);
    snprintf(log, sizeof log, "%s/hub-%d.log", h->dir, h->starts);
    snprintf(port, sizeof port, "%d", h->port);
    const char *bin = check_env("IOTSEC_TEST_HUB_BIN");
    char *argv[] = {(char *)bin, "hub", "--data-dir", h->data_dir, "--port", port, "--ready-file", ready, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(&h->pid, bin, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        fprintf(stdout, "Bail out! cannot start %s: %s\n", bin, strerror(rc));
        exit(2);
    }
    double deadline = check_now() + 30;
    char *text = NULL;
    while ((text = check_read_file(ready, NULL)) == NULL || strstr(text, "tls_port") == NULL) {
        free(text);
        text = NULL;
        if (check_now() > deadline) {
            fprintf(stdout, "Bail out! the hub did not start (see %s)\n", log);
            exit(2);
        }
        check_sleep_ms(20);
    }
    const char *p = strstr(text, "\"tls_port\"");
    h->port = atoi(strchr(p, ':') + 1);
    free(text);
    snprintf(h->ca_file, sizeof h->ca_file, "%s/pki/ca.pem", h->data_dir);
}

/* SIGKILL to the hub's PID, and reap it. */
static void hub_kill(hub *h) {
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

static void hub_stop(hub *h) {
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

/* `iotsec hub add-device`: the device's connection string (malloc'ed). */
static char *hub_add_device(hub *h, const char *device) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' hub add-device --data-dir '%s' '%s' 2>/dev/null", check_env("IOTSEC_TEST_HUB_BIN"), h->data_dir, device);
    FILE *p = popen(cmd, "r");
    char line[1024] = {0};
    char *cs = NULL;
    while (p != NULL && fgets(line, sizeof line, p) != NULL) {
        if (strncmp(line, "HostName=", 9) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            free(cs);
            cs = strdup(line);
        }
    }
    if (p != NULL) pclose(p);
    return cs;
}

static hub the_hub;

/* ---- what the callbacks saw ----------------------------------------------------------- */

#define MAX_EVENTS 256

typedef struct {
    int status; /* IOTHUB_CLIENT_CONNECTION_STATUS, or -1 for a native event */
    int reason;
    unsigned state, native_status, native_reason, attempt, error_kind;
    char error[256];
    double at;
} event;

typedef struct {
    pthread_mutex_t lock;
    event sdk[MAX_EVENTS];
    int sdk_count;
    event native[MAX_EVENTS];
    int native_count;
    int wrong_context;
    int after_destroy; /* callbacks that ran after Destroy returned */
    volatile int destroyed;
} events;

static void on_status(IOTHUB_CLIENT_CONNECTION_STATUS status, IOTHUB_CLIENT_CONNECTION_STATUS_REASON reason, void *context) {
    events *e = context;
    pthread_mutex_lock(&e->lock);
    if (e->destroyed) e->after_destroy++;
    if (e->sdk_count < MAX_EVENTS) {
        event *ev = &e->sdk[e->sdk_count++];
        ev->status = (int)status;
        ev->reason = (int)reason;
        ev->at = check_now();
        const char *text = iotsec_last_error_message();
        snprintf(ev->error, sizeof ev->error, "%s", text ? text : "");
    }
    pthread_mutex_unlock(&e->lock);
}

static void on_change(uint32_t state, uint32_t status, uint32_t reason, uint32_t attempt, iotsec_status error_kind,
                      const char *error_message, void *context) {
    events *e = context;
    pthread_mutex_lock(&e->lock);
    if (e->destroyed) e->after_destroy++;
    if ((error_kind == IOTSEC_OK) != (error_message == NULL)) e->wrong_context++;
    if (e->native_count < MAX_EVENTS) {
        event *ev = &e->native[e->native_count++];
        ev->status = -1;
        ev->state = state;
        ev->native_status = status;
        ev->native_reason = reason;
        ev->attempt = attempt;
        ev->error_kind = error_kind;
        snprintf(ev->error, sizeof ev->error, "%s", error_message ? error_message : "");
    }
    pthread_mutex_unlock(&e->lock);
}

static void events_init(events *e) {
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
}

/* Waits until the SDK callback ran with `status` (and `reason`, unless -1) after index `after`;
 * returns its index or -1. */
static int wait_sdk(events *e, int status, int reason, int after, double seconds) {
    double deadline = check_now() + check_timeout(seconds);
    for (;;) {
        pthread_mutex_lock(&e->lock);
        for (int i = after + 1; i < e->sdk_count; i++) {
            if (e->sdk[i].status == status && (reason < 0 || e->sdk[i].reason == reason)) {
                pthread_mutex_unlock(&e->lock);
                return i;
            }
        }
        pthread_mutex_unlock(&e->lock);
        if (check_now() > deadline) return -1;
        check_sleep_ms(10);
    }
}

static void record_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    check_outcomes_record((check_outcomes *)context, (int)result, -1, context != NULL);
}

static IOTHUB_DEVICE_CLIENT_HANDLE hub_client(const char *device, size_t token_lifetime) {
    char *cs = hub_add_device(&the_hub, device);
    CHECK(cs != NULL);
    IOTHUB_DEVICE_CLIENT_HANDLE c = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    free(cs);
    char port[16];
    snprintf(port, sizeof port, "%d", the_hub.port);
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "iotsec.port", port), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "iotsec.ca_file", the_hub.ca_file), IOTHUB_CLIENT_OK);
    if (token_lifetime > 0) CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "sas_token_lifetime", &token_lifetime), IOTHUB_CLIENT_OK);
    return c;
}

/* ---- the tests -------------------------------------------------------------------------- */

static void hub_killed_and_restarted_gives_unauthenticated_then_authenticated(void) {
    static events e;
    static check_outcomes sent;
    events_init(&e);
    check_outcomes_init(&sent);
    IOTHUB_DEVICE_CLIENT_HANDLE c = hub_client("dev-c-status", 0);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, on_status, &e), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(iotsec_client_set_connection_callback(c, on_change, &e), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_connect(c), IOTSEC_OK);
    int up = wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_AUTHENTICATED, IOTHUB_CLIENT_CONNECTION_OK, -1, 10);
    CHECK(up == 0);

    hub_kill(&the_hub);
    int lost = wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED, -1, up, 10);
    CHECK(lost > up);
    if (lost > up) {
        CHECK_EQ_INT(e.sdk[lost].reason, IOTHUB_CLIENT_CONNECTION_NO_NETWORK);
        CHECK_CONTAINS(e.sdk[lost].error, "lost"); /* iotsec_last_error_message() inside the callback */
    }
    CHECK_EQ_INT(iotsec_client_is_connected(c), 0);

    /* Sent while the hub is down: confirmed only after the reconnect. */
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{\"during\":\"outage\"}");
    IoTHubMessage_SetMessageId(m, "outage-c-1");
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, record_confirmation, &sent), IOTHUB_CLIENT_OK);
    IoTHubMessage_Destroy(m);
    check_sleep_ms(300);
    CHECK_EQ_INT(check_outcomes_calls(&sent), 0);
    hub_start(&the_hub);
    int back = wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_AUTHENTICATED, IOTHUB_CLIENT_CONNECTION_OK, lost, 15);
    CHECK(back > lost);
    CHECK_EQ_INT(check_outcomes_wait(&sent, 1, 15), 1);
    CHECK_EQ_INT(sent.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 1);
    char store[600];
    snprintf(store, sizeof store, "%s/store/telemetry.jsonl", the_hub.data_dir);
    const char *needles[] = {"\"device_id\":\"dev-c-status\"", "\"message_id\":\"outage-c-1\"", NULL};
    CHECK_EQ_INT(check_wait_lines(store, needles, 1, 10), 1);

    /* The native callback saw every change: connecting, connected, reconnecting 1, 2, ...
     * (each with CONNECTION_LOST), connected. */
    pthread_mutex_lock(&e.lock);
    CHECK(e.native_count >= 4);
    CHECK_EQ_INT(e.native[0].state, IOTSEC_STATE_CONNECTING);
    CHECK_EQ_INT(e.native[0].native_status, IOTSEC_CONNECTION_STATUS_NONE);
    CHECK_EQ_INT(e.native[1].state, IOTSEC_STATE_CONNECTED);
    CHECK_EQ_INT(e.native[1].native_status, IOTSEC_CONNECTION_STATUS_CONNECTED);
    CHECK_EQ_INT(e.native[2].state, IOTSEC_STATE_RECONNECTING);
    CHECK_EQ_INT(e.native[2].attempt, 1);
    CHECK_EQ_INT(e.native[2].native_status, IOTSEC_CONNECTION_STATUS_DISCONNECTED_RETRYING);
    CHECK_EQ_INT(e.native[2].native_reason, IOTSEC_REASON_NO_NETWORK);
    CHECK_EQ_INT(e.native[2].error_kind, IOTSEC_ERROR_CONNECTION_LOST);
    for (int i = 3; i < e.native_count - 1; i++) {
        CHECK_EQ_INT(e.native[i].state, IOTSEC_STATE_RECONNECTING);
        CHECK_EQ_INT(e.native[i].attempt, (unsigned)(i - 1));
        CHECK_EQ_INT(e.native[i].native_status, IOTSEC_CONNECTION_STATUS_NONE);
    }
    CHECK_EQ_INT(e.native[e.native_count - 1].state, IOTSEC_STATE_CONNECTED);
    CHECK_EQ_INT(e.sdk_count, 3); /* AUTHENTICATED, UNAUTHENTICATED (once), AUTHENTICATED */
    CHECK_EQ_INT(e.wrong_context, 0);
    pthread_mutex_unlock(&e.lock);

    /* Destroy reports nothing, and nothing runs after it returns. */
    IoTHubDeviceClient_Destroy(c);
    e.destroyed = 1;
    check_sleep_ms(300);
    pthread_mutex_lock(&e.lock);
    CHECK_EQ_INT(e.sdk_count, 3);
    CHECK_EQ_INT(e.after_destroy, 0);
    pthread_mutex_unlock(&e.lock);
    check_outcomes_free(&sent);
}

static void token_renewal_is_unauthenticated_expired_sas_token_then_authenticated(void) {
    static events e;
    static check_outcomes sent;
    events_init(&e);
    check_outcomes_init(&sent);
    IOTHUB_DEVICE_CLIENT_HANDLE c = hub_client("dev-c-renew", 5);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, on_status, &e), IOTHUB_CLIENT_OK);
    int n = 0;
    double deadline = check_now() + 8;
    while (check_now() < deadline && wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED, -1, -1, 0) < 0) {
        IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("tick");
        CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, record_confirmation, &sent), IOTHUB_CLIENT_OK);
        IoTHubMessage_Destroy(m);
        n++;
        check_sleep_ms(100);
    }
    int renewal = wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED, -1, -1, 1);
    CHECK(renewal >= 1);
    if (renewal >= 1) {
        CHECK_EQ_INT(e.sdk[renewal].reason, IOTHUB_CLIENT_CONNECTION_EXPIRED_SAS_TOKEN);
        CHECK(wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_AUTHENTICATED, IOTHUB_CLIENT_CONNECTION_OK, renewal, 10) > renewal);
    }
    CHECK_EQ_INT(check_outcomes_wait(&sent, n, 15), n);
    CHECK_EQ_INT(sent.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], n);
    IoTHubDeviceClient_Destroy(c);
    check_outcomes_free(&sent);
}

static void failed_first_connect_and_handles(void) {
    static events e;
    events_init(&e);
    IOTHUB_DEVICE_CLIENT_HANDLE c =
        IoTHubDeviceClient_CreateFromConnectionString("HostName=localhost;DeviceId=dev-c-tls;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", MQTT_Protocol);
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "iotsec.port", check_env("IOTSEC_TEST_TLS_PORT")), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "iotsec.ca_file", check_env("IOTSEC_TEST_WRONG_CA_FILE")), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, on_status, &e), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(iotsec_client_set_connection_callback(c, on_change, &e), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_connect(c), IOTSEC_ERROR_TLS);
    int failed = wait_sdk(&e, IOTHUB_CLIENT_CONNECTION_UNAUTHENTICATED, -1, -1, 10);
    CHECK(failed == 0);
    if (failed == 0) {
        CHECK_EQ_INT(e.sdk[0].reason, IOTHUB_CLIENT_CONNECTION_COMMUNICATION_ERROR);
        CHECK_CONTAINS(e.sdk[0].error, "TLS");
    }
    pthread_mutex_lock(&e.lock);
    CHECK(e.native_count == 2);
    if (e.native_count == 2) {
        CHECK_EQ_INT(e.native[1].state, IOTSEC_STATE_DISCONNECTED);
        CHECK_EQ_INT(e.native[1].native_status, IOTSEC_CONNECTION_STATUS_DISCONNECTED);
        CHECK_EQ_INT(e.native[1].native_reason, IOTSEC_REASON_COMMUNICATION_ERROR);
        CHECK_EQ_INT(e.native[1].error_kind, IOTSEC_ERROR_TLS);
    }
    pthread_mutex_unlock(&e.lock);
    /* NULL removes a callback; NULL, destroyed and foreign handles are refused. */
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, NULL, NULL), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(iotsec_client_set_connection_callback(c, NULL, NULL), IOTSEC_OK);
    IoTHubDeviceClient_Destroy(c);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    IOTHUB_DEVICE_CLIENT_HANDLE bad[] = {NULL, c, (IOTHUB_DEVICE_CLIENT_HANDLE)(void *)m, (IOTHUB_DEVICE_CLIENT_HANDLE)(uintptr_t)0x10};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(bad[i], on_status, &e), IOTHUB_CLIENT_INVALID_ARG);
        CHECK_CONTAINS(iotsec_last_error_message(), "client handle");
        CHECK_EQ_INT(IoTHubModuleClient_SetConnectionStatusCallback(bad[i], on_status, &e), IOTHUB_CLIENT_INVALID_ARG);
        CHECK_EQ_INT(iotsec_client_set_connection_callback(bad[i], on_change, &e), IOTSEC_ERROR_INVALID_ARGUMENT);
    }
    IoTHubMessage_Destroy(m);
}

/* Destroy from inside the status callback: allowed, and it returns (no deadlock). */
static IOTHUB_DEVICE_CLIENT_HANDLE destroy_me;
static volatile int destroyed_inside;

static void destroy_in_callback(IOTHUB_CLIENT_CONNECTION_STATUS status, IOTHUB_CLIENT_CONNECTION_STATUS_REASON reason, void *context) {
    (void)reason;
    (void)context;
    if (status == IOTHUB_CLIENT_CONNECTION_AUTHENTICATED && destroy_me != NULL) {
        IOTHUB_DEVICE_CLIENT_HANDLE c = destroy_me;
        destroy_me = NULL;
        CHECK_EQ_INT(iotsec_client_connect(c), IOTSEC_ERROR_INVALID_ARGUMENT); /* blocking: refused here */
        IoTHubDeviceClient_Destroy(c);
        destroyed_inside = 1;
    }
}

static void destroy_inside_the_status_callback(void) {
    IOTHUB_DEVICE_CLIENT_HANDLE c = hub_client("dev-c-destroy-inside", 0);
    destroy_me = c;
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, destroy_in_callback, NULL), IOTHUB_CLIENT_OK);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("connect me");
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, NULL, NULL), IOTHUB_CLIENT_OK);
    IoTHubMessage_Destroy(m);
    double deadline = check_now() + check_timeout(10);
    while (!destroyed_inside && check_now() < deadline) check_sleep_ms(10);
    CHECK(destroyed_inside);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, on_status, NULL), IOTHUB_CLIENT_INVALID_ARG);
}

int main(void) {
    const char *work = getenv("IOTSEC_TEST_WORK_DIR");
    snprintf(the_hub.dir, sizeof the_hub.dir, "%s/iotsec-c-hub-XXXXXX", work != NULL && *work != '\0' ? work : "/tmp");
    if (mkdtemp(the_hub.dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(the_hub.data_dir, sizeof the_hub.data_dir, "%s/data", the_hub.dir);
    hub_start(&the_hub);
    RUN(hub_killed_and_restarted_gives_unauthenticated_then_authenticated);
    RUN(token_renewal_is_unauthenticated_expired_sas_token_then_authenticated);
    RUN(failed_first_connect_and_handles);
    RUN(destroy_inside_the_status_callback);
    hub_stop(&the_hub);
    iotsec_shutdown();
    return check_summary("test_connection");
}
