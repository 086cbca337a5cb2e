/*
 * A full session at TRACE logging (scripts/test-c.sh runs this with IOTSEC_LOG=trace and
 * stderr in the same log as stdout): connect to the local hub, send for 7 s with a 5 s SAS
 * token (renewed by a planned reconnect, which the hub checks), then the failures whose text
 * could carry a secret: a wrong key, a key that is not base64, an expired fixed SAS token, a
 * wrong CA. This program checks the session; check_secrets.py then checks that the whole log
 * (every trace line, every error text printed here) holds no key, token or signature.
 *
 * Environment: IOTSEC_TEST_SECRETS_CS (a device registered with the hub),
 * IOTSEC_TEST_SECRETS_OTHER_KEY (a key the hub does not know), IOTSEC_TEST_SECRETS_FIXED_TOKEN
 * (an expired SAS token for that device), IOTSEC_TEST_HUB_CA_FILE, IOTSEC_TEST_HUB_PORT,
 * IOTSEC_TEST_WRONG_CA_FILE, IOTSEC_TEST_TLS_PORT.
 */
#include "check.h"

#include <sys/time.h>

static double wall_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int renewals, authenticated;

static void on_status(IOTHUB_CLIENT_CONNECTION_STATUS status, IOTHUB_CLIENT_CONNECTION_STATUS_REASON reason, void *context) {
    (void)context;
    const char *text = iotsec_last_error_message();
    pthread_mutex_lock(&lock);
    if (reason == IOTHUB_CLIENT_CONNECTION_EXPIRED_SAS_TOKEN) renewals++;
    if (status == IOTHUB_CLIENT_CONNECTION_AUTHENTICATED) authenticated++;
    fprintf(stdout, "# status %d reason %d: %s\n", (int)status, (int)reason, text ? text : "");
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

static void record_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    check_outcomes_record((check_outcomes *)context, (int)result, -1, context != NULL);
    if (result != IOTHUB_CLIENT_CONFIRMATION_OK) {
        fprintf(stdout, "# confirmation %d: %s\n", (int)result, ((check_outcomes *)context)->last_text);
    }
}

static IOTHUB_DEVICE_CLIENT_HANDLE client_for(const char *cs, const char *ca_file, const char *port) {
    IOTHUB_DEVICE_CLIENT_HANDLE c = IoTHubDeviceClient_CreateFromConnectionString(cs, MQTT_Protocol);
    if (c == NULL) return NULL;
    IoTHubDeviceClient_SetOption(c, "iotsec.ca_file", ca_file);
    IoTHubDeviceClient_SetOption(c, "iotsec.port", port);
    return c;
}

static double started, ended;
static int sent;

static void session_with_token_renewals_delivers_everything(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    IoTHub_Init();
    IOTHUB_DEVICE_CLIENT_HANDLE c =
        client_for(check_env("IOTSEC_TEST_SECRETS_CS"), check_env("IOTSEC_TEST_HUB_CA_FILE"), check_env("IOTSEC_TEST_HUB_PORT"));
    CHECK(c != NULL);
    size_t lifetime = 5;
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "sas_token_lifetime", &lifetime), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, on_status, NULL), IOTHUB_CLIENT_OK);
    started = wall_now();
    while (wall_now() - started < 7) {
        char body[64], id[32];
        snprintf(body, sizeof body, "{\"n\":%d}", sent);
        snprintf(id, sizeof id, "s-%d", sent);
        IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString(body);
        IoTHubMessage_SetMessageId(m, id);
        IoTHubMessage_SetProperty(m, "k", "v");
        CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
        IoTHubMessage_Destroy(m);
        sent++;
        check_sleep_ms(200);
    }
    CHECK_EQ_INT(check_outcomes_wait(&o, sent, 20), sent);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], sent);
    char *username = iotsec_client_mqtt_username(c);
    fprintf(stdout, "# username: %s\n", username ? username : "(null)");
    iotsec_string_free(username);
    IoTHubDeviceClient_Destroy(c);
    ended = wall_now();
    pthread_mutex_lock(&lock);
    CHECK_MSG(renewals >= 1, "%d token renewals in 7 s with a 5 s token", renewals);
    CHECK_MSG(authenticated >= 2, "%d connections", authenticated);
    pthread_mutex_unlock(&lock);
    check_outcomes_free(&o);
}

/* Runs one failing connection and prints the error text (which the checker scans). */
static void failing(const char *label, const char *cs, const char *ca_file, const char *port, unsigned expected_kind) {
    static check_outcomes o;
    check_outcomes_init(&o);
    IOTHUB_DEVICE_CLIENT_HANDLE c = client_for(cs, ca_file, port);
    if (c == NULL) {
        fprintf(stdout, "# %s: create failed, kind %u: %s\n", label, iotsec_last_error_kind(), iotsec_last_error_message());
        CHECK_EQ_INT(iotsec_last_error_kind(), expected_kind);
        return;
    }
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 20), 1);
    fprintf(stdout, "# %s: confirmation error, kind %u: %s\n", label, o.last_kind, o.last_text);
    CHECK_EQ_INT(o.last_kind, expected_kind);
    CHECK_EQ_INT(iotsec_client_connect(c), expected_kind);
    fprintf(stdout, "# %s: connect, kind %u: %s\n", label, iotsec_last_error_kind(), iotsec_last_error_message());
    IoTHubMessage_Destroy(m);
    IoTHubDeviceClient_Destroy(c);
    check_outcomes_free(&o);
}

static void failures_name_the_fault(void) {
    const char *cs = check_env("IOTSEC_TEST_SECRETS_CS");
    const char *hub_ca = check_env("IOTSEC_TEST_HUB_CA_FILE"), *hub_port = check_env("IOTSEC_TEST_HUB_PORT");
    const char *key = strstr(cs, "SharedAccessKey=");
    CHECK(key != NULL);
    if (key == NULL) return;
    int prefix = (int)(key - cs);
    char text[1024];
    snprintf(text, sizeof text, "%.*sSharedAccessKey=%s", prefix, cs, check_env("IOTSEC_TEST_SECRETS_OTHER_KEY"));
    failing("wrong key", text, hub_ca, hub_port, IOTSEC_ERROR_CREDENTIAL_REFUSED);
    snprintf(text, sizeof text, "%.*sSharedAccessKey=!%s", prefix, cs, key + strlen("SharedAccessKey="));
    failing("key not base64", text, hub_ca, hub_port, IOTSEC_ERROR_INVALID_CONNECTION_STRING);
    snprintf(text, sizeof text, "%sx", cs);
    failing("key with a byte more", text, hub_ca, hub_port, IOTSEC_ERROR_INVALID_CONNECTION_STRING);
    snprintf(text, sizeof text, "%.*sSharedAccessSignature=%s", prefix, cs, check_env("IOTSEC_TEST_SECRETS_FIXED_TOKEN"));
    failing("expired token", text, hub_ca, hub_port, IOTSEC_ERROR_CREDENTIAL_REFUSED);
    failing("wrong CA", cs, check_env("IOTSEC_TEST_WRONG_CA_FILE"), check_env("IOTSEC_TEST_TLS_PORT"), IOTSEC_ERROR_TLS);
}

int main(void) {
    RUN(session_with_token_renewals_delivers_everything);
    RUN(failures_name_the_fault);
    fprintf(stdout, "# secrets-meta: started=%.3f ended=%.3f sent=%d\n", started, ended, sent);
    IoTHub_Deinit();
    return check_summary("test_secrets");
}
