/*
 * The client API without a broker: creation errors (secrets never echoed), NULL and invalid
 * handles, options, schema-invalid and oversized messages refused before sending, Destroy
 * with sends pending (a listener that accepts TCP but never answers: sends stay pending and
 * complete with IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY), refused connections and
 * timeouts reported to the callback, Destroy from inside a callback, shutdown.
 *
 * Environment: IOTSEC_TEST_CA_FILE (any CA PEM), IOTSEC_TEST_GUIDE_MESSAGE,
 * IOTSEC_TEST_GUIDE_MESSAGE_VALID.
 */
#include "check.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
static const char *MODULE_CS = "HostName=localhost;DeviceId=dev-c;ModuleId=mod-c;SharedAccessKey=" KEY;
static const char *DEVICE_CS = "HostName=localhost;DeviceId=dev-c;SharedAccessKey=" KEY;

static void record_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    check_outcomes_record((check_outcomes *)context, (int)result, -1, context != NULL);
}

static void record_status(iotsec_status status, const char *text, void *context) {
    bool consistent = context != NULL && ((status == IOTSEC_OK) == (text == NULL));
    check_outcomes_record((check_outcomes *)context, -1, (int)status, consistent);
}

static const TRANSPORT_PROVIDER *not_mqtt(void) { return (const TRANSPORT_PROVIDER *)"AMQP"; }

static IOTHUB_MESSAGE_HANDLE valid_security_message(void) {
    size_t len = 0;
    char *body = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE_VALID"), &len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    free(body);
    IoTHubMessage_SetAsSecurityMessage(m);
    return m;
}

/* A module client aimed at 127.0.0.1:port (localhost in the connection string), trusting the test CA. */
static IOTHUB_MODULE_CLIENT_HANDLE module_client_on(int port) {
    IOTHUB_MODULE_CLIENT_HANDLE c = IoTHubModuleClient_CreateFromConnectionString(MODULE_CS, MQTT_Protocol);
    char text[16];
    snprintf(text, sizeof text, "%d", port);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "iotsec.port", text), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "iotsec.ca_file", check_env("IOTSEC_TEST_CA_FILE")), IOTHUB_CLIENT_OK);
    return c;
}

static void creation_errors_name_the_fault_and_hide_secrets(void) {
    CHECK(IoTHubModuleClient_CreateFromConnectionString(NULL, MQTT_Protocol) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "connectionString");

    CHECK(IoTHubModuleClient_CreateFromConnectionString(MODULE_CS, NULL) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "protocol");
    CHECK(IoTHubModuleClient_CreateFromConnectionString(MODULE_CS, not_mqtt) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "MQTT_Protocol");

    /* A misspelt key: the error names it, and never quotes the secret next to it. */
    CHECK(IoTHubModuleClient_CreateFromConnectionString(
              "HostName=localhost;DeviceId=d;ModuleId=m;SharedAccesKey=topsecretvalue", MQTT_Protocol) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_CONNECTION_STRING);
    CHECK_CONTAINS(iotsec_last_error_message(), "SharedAccesKey");
    CHECK(strstr(iotsec_last_error_message(), "topsecretvalue") == NULL);
    /* A key that is not base64. */
    CHECK(IoTHubModuleClient_CreateFromConnectionString(
              "HostName=localhost;DeviceId=d;ModuleId=m;SharedAccessKey=not*base64*secret", MQTT_Protocol) == NULL);
    CHECK(iotsec_last_error_kind() != IOTSEC_OK);
    CHECK(iotsec_last_error_message() != NULL && strstr(iotsec_last_error_message(), "not*base64*secret") == NULL);

    /* Device and module clients insist on the right kind of connection string. */
    CHECK(IoTHubModuleClient_CreateFromConnectionString(DEVICE_CS, MQTT_Protocol) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "ModuleId");
    CHECK(IoTHubDeviceClient_CreateFromConnectionString(MODULE_CS, MQTT_Protocol) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "ModuleId");
    CHECK(iotsec_client_create(MODULE_CS, 7) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "kind");

    IOTHUB_DEVICE_CLIENT_HANDLE d = IoTHubDeviceClient_CreateFromConnectionString(DEVICE_CS, MQTT_Protocol);
    CHECK(d != NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_OK);
    IoTHubDeviceClient_Destroy(d);
    IOTHUB_CLIENT_CORE_HANDLE any = iotsec_client_create(DEVICE_CS, IOTSEC_CLIENT_ANY);
    CHECK(any != NULL);
    iotsec_client_destroy(any);
}

static void null_destroyed_and_foreign_client_handles_are_refused(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    IOTHUB_MODULE_CLIENT_HANDLE dead = IoTHubModuleClient_CreateFromConnectionString(MODULE_CS, MQTT_Protocol);
    IoTHubModuleClient_Destroy(dead);
    IoTHubModuleClient_Destroy(dead); /* twice: harmless */
    IoTHubModuleClient_Destroy(NULL);
    IoTHubDeviceClient_Destroy(NULL);
    IOTHUB_MODULE_CLIENT_HANDLE handles[] = {NULL, dead, (IOTHUB_MODULE_CLIENT_HANDLE)(uintptr_t)0x1234560,
                                             (IOTHUB_MODULE_CLIENT_HANDLE)(void *)m};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        IOTHUB_MODULE_CLIENT_HANDLE h = handles[i];
        CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(h, m, record_confirmation, &o), IOTHUB_CLIENT_INVALID_ARG);
        CHECK_CONTAINS(iotsec_last_error_message(), "client handle");
        CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(h, m, record_confirmation, &o), IOTHUB_CLIENT_INVALID_ARG);
        CHECK_EQ_INT(IoTHubModuleClient_SetOption(h, "TrustedCerts", "x"), IOTHUB_CLIENT_INVALID_ARG);
        CHECK_EQ_INT(iotsec_client_send(h, m), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK_EQ_INT(iotsec_client_send_async(h, m, record_status, &o), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK_EQ_INT(iotsec_client_connect(h), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK_EQ_INT(iotsec_client_disconnect(h), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK_EQ_INT(iotsec_client_set_option(h, "port", "1"), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK_EQ_INT(iotsec_client_is_connected(h), -1);
        CHECK(iotsec_client_mqtt_username(h) == NULL);
        iotsec_client_destroy(h); /* ignored; must not destroy the message behind the last one */
    }
    CHECK_STR(IoTHubMessage_GetString(m), "{}");

    IOTHUB_MODULE_CLIENT_HANDLE live = IoTHubModuleClient_CreateFromConnectionString(MODULE_CS, MQTT_Protocol);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(live, NULL, record_confirmation, &o), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "message handle");
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(live, (IOTHUB_MESSAGE_HANDLE)(void *)live, record_confirmation, &o),
                 IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(live, NULL, "x"), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(live, "TrustedCerts", NULL), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(live, "x509certificate", "pem"), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "x509certificate");
    IoTHubModuleClient_Destroy(live);
    IoTHubMessage_Destroy(m);
    check_sleep_ms(100);
    CHECK_EQ_INT(check_outcomes_calls(&o), 0);
    check_outcomes_free(&o);
}

static void options_are_checked_by_name(void) {
    IOTHUB_CLIENT_CORE_HANDLE c = iotsec_client_create(MODULE_CS, IOTSEC_CLIENT_MODULE);
    CHECK_EQ_INT(iotsec_client_set_option(c, "ca_file", check_env("IOTSEC_TEST_CA_FILE")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", "http"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "`port`");
    CHECK_EQ_INT(iotsec_client_set_option(c, "validation", "loud"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "validation");
    CHECK_EQ_INT(iotsec_client_set_option(c, "colour", "blue"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "colour");
    int keepalive = 5000;
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "keepalive", &keepalive), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "keepalive");
    keepalive = 120;
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "keepalive", &keepalive), IOTHUB_CLIENT_OK);
    uint64_t timeout_ms = 5000;
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "messageTimeout", &timeout_ms), IOTHUB_CLIENT_OK);
    bool trace = true;
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "logtrace", &trace), IOTHUB_CLIENT_OK);

    /* The user agent: "c" by default, or what product_info says (C# sets "csharp mono 6.8"). */
    char *username = iotsec_client_mqtt_username(c);
    CHECK_CONTAINS(username, "localhost/dev-c/mod-c/?api-version=2021-04-12&DeviceClientType=iotsec%2F");
    CHECK_CONTAINS(username, "%28c%3B%20");
    CHECK(username != NULL && strstr(username, KEY) == NULL);
    iotsec_string_free(username);
    CHECK_EQ_INT(iotsec_client_set_option(c, "product_info", "csharp mono 6.8"), IOTSEC_OK);
    username = iotsec_client_mqtt_username(c);
    CHECK_CONTAINS(username, "%28csharp%20mono%206.8%3B%20");
    iotsec_string_free(username);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "product_info", "c-sdk-compat/1"), IOTHUB_CLIENT_OK);
    username = iotsec_client_mqtt_username(c);
    CHECK_CONTAINS(username, "%28c-sdk-compat%2F1%3B%20");
    iotsec_string_free(username);

    /* An unreadable CA file is reported when the client is built, naming the file. */
    CHECK_EQ_INT(iotsec_client_set_option(c, "ca_file", "/nonexistent/ca.pem"), IOTSEC_OK);
    CHECK(iotsec_client_mqtt_username(c) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "/nonexistent/ca.pem");
    iotsec_client_destroy(c);
}

static void schema_invalid_and_oversized_messages_are_refused_before_sending(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    int port = check_closed_port();
    IOTHUB_MODULE_CLIENT_HANDLE c = module_client_on(port);
    size_t len = 0;
    char *guide = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE"), &len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)guide, len);
    free(guide);
    IoTHubMessage_SetAsSecurityMessage(m);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_ERROR);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_SCHEMA_VALIDATION);
    CHECK_CONTAINS(iotsec_last_error_message(), "/Events/0/Payload/0/UserId");
    CHECK_CONTAINS(iotsec_last_error_violations_json(), "\"pointer\":\"/Events/0/Payload/0/UserId\"");
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_ERROR_SCHEMA_VALIDATION);
    CHECK_EQ_INT(iotsec_client_send_async(c, m, record_status, &o), IOTSEC_ERROR_SCHEMA_VALIDATION);
    IoTHubMessage_Destroy(m);

    unsigned char *big = calloc(300000, 1);
    m = IoTHubMessage_CreateFromByteArray(big, 300000);
    free(big);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_INVALID_SIZE);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_MESSAGE_TOO_LARGE);
    IoTHubMessage_Destroy(m);

    check_sleep_ms(200);
    CHECK_EQ_INT(check_outcomes_calls(&o), 0); /* refused sends never call back */
    IoTHubModuleClient_Destroy(c);
    CHECK_EQ_INT(check_outcomes_calls(&o), 0);
    check_outcomes_free(&o);
}

static void destroy_completes_pending_sends_with_because_destroy(void) {
    static check_outcomes o, native;
    check_outcomes_init(&o);
    check_outcomes_init(&native);
    int port;
    int listener = check_silent_listener(&port);
    IOTHUB_MODULE_CLIENT_HANDLE c = module_client_on(port);
    for (int i = 0; i < 5; i++) {
        IOTHUB_MESSAGE_HANDLE m = valid_security_message();
        CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
        IoTHubMessage_Destroy(m); /* the send copied it */
    }
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(iotsec_client_send_async(c, m, record_status, &native), IOTSEC_OK);
    IoTHubMessage_Destroy(m);
    check_sleep_ms(300);
    CHECK_EQ_INT(check_outcomes_calls(&o), 0); /* the broker never answers: all still pending */
    CHECK_EQ_INT(iotsec_client_is_connected(c), 0);

    IoTHubModuleClient_Destroy(c);
    /* Destroy returned: every callback has run, on this thread, with BECAUSE_DESTROY. */
    CHECK_EQ_INT(check_outcomes_calls(&o), 5);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY], 5);
    CHECK_EQ_INT(o.wrong_context, 0);
    CHECK(pthread_equal(o.last_thread, pthread_self()));
    CHECK_EQ_INT(check_outcomes_calls(&native), 1);
    CHECK_EQ_INT(native.by_status[IOTSEC_ERROR_CLOSED], 1);
    CHECK_EQ_INT(native.wrong_context, 0);
    check_sleep_ms(300);
    CHECK_EQ_INT(check_outcomes_calls(&o), 5); /* and nothing after */
    close(listener);
    check_outcomes_free(&o);
    check_outcomes_free(&native);
}

static void refused_connection_is_reported_to_the_callback(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    int port = check_closed_port();
    IOTHUB_MODULE_CLIENT_HANDLE c = module_client_on(port);
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 15), 1);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_ERROR], 1);
    CHECK_EQ_INT(o.last_kind, IOTSEC_ERROR_CONNECTION_FAILED);
    CHECK_CONTAINS(o.last_text, "localhost");
    CHECK(!pthread_equal(o.last_thread, pthread_self()));
    IoTHubModuleClient_Destroy(c);
    CHECK_EQ_INT(check_outcomes_calls(&o), 1);

    /* The blocking connect reports the same failure. */
    IOTHUB_CLIENT_CORE_HANDLE n = iotsec_client_create(MODULE_CS, IOTSEC_CLIENT_ANY);
    char text[16];
    snprintf(text, sizeof text, "%d", port);
    iotsec_client_set_option(n, "port", text);
    iotsec_client_set_option(n, "ca_file", check_env("IOTSEC_TEST_CA_FILE"));
    CHECK_EQ_INT(iotsec_client_connect(n), IOTSEC_ERROR_CONNECTION_FAILED);
    CHECK_EQ_INT(iotsec_client_send(n, m), IOTSEC_ERROR_CONNECTION_FAILED);
    /* Options are frozen once the client was used. */
    CHECK_EQ_INT(iotsec_client_set_option(n, "port", "8883"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "before the client first connects");
    iotsec_client_destroy(n);
    IoTHubMessage_Destroy(m);
    check_outcomes_free(&o);
}

static void connect_timeout_is_a_message_timeout(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    int port;
    int listener = check_silent_listener(&port);
    IOTHUB_MODULE_CLIENT_HANDLE c = module_client_on(port);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(c, "iotsec.connect_timeout_ms", "1000"), IOTHUB_CLIENT_OK);
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    IoTHubMessage_Destroy(m);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 15), 1);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_MESSAGE_TIMEOUT], 1);
    CHECK_EQ_INT(o.last_kind, IOTSEC_ERROR_TIMEOUT);
    IoTHubModuleClient_Destroy(c);
    close(listener);
    check_outcomes_free(&o);
}

static IOTHUB_MODULE_CLIENT_HANDLE destroyed_in_callback;

static void destroy_me(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    /* The C SDK leaves this undefined; iotsec must neither deadlock nor crash. */
    IoTHubModuleClient_Destroy(destroyed_in_callback);
    check_outcomes_record((check_outcomes *)context, (int)result, -1, true);
}

static void destroy_inside_a_callback_does_not_deadlock(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    destroyed_in_callback = module_client_on(check_closed_port());
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(destroyed_in_callback, m, destroy_me, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 15), 1);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(destroyed_in_callback, m, destroy_me, &o), IOTHUB_CLIENT_INVALID_ARG);
    IoTHubMessage_Destroy(m);
    check_outcomes_free(&o);
}

static IOTHUB_CLIENT_CORE_HANDLE blocking_client;
static iotsec_status status_in_callback[3];

static void try_blocking(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    status_in_callback[0] = iotsec_client_connect(blocking_client);
    status_in_callback[1] = iotsec_shutdown();
    status_in_callback[2] = iotsec_client_disconnect(blocking_client);
    check_outcomes_record((check_outcomes *)context, (int)result, -1, true);
}

static void blocking_calls_are_refused_inside_callbacks(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    blocking_client = module_client_on(check_closed_port());
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(blocking_client, m, try_blocking, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 15), 1);
    CHECK_EQ_INT(status_in_callback[0], IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(status_in_callback[1], IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(status_in_callback[2], IOTSEC_ERROR_INVALID_ARGUMENT);
    IoTHubModuleClient_Destroy(blocking_client);
    IoTHubMessage_Destroy(m);
    check_outcomes_free(&o);
}

static void shutdown_stops_threads_and_iotsec_still_works_after(void) {
    CHECK_EQ_INT(iotsec_shutdown(), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_shutdown(), IOTSEC_OK); /* twice: harmless */
    /* A new client after shutdown starts the runtime again. */
    static check_outcomes o;
    check_outcomes_init(&o);
    IOTHUB_MODULE_CLIENT_HANDLE c = module_client_on(check_closed_port());
    IOTHUB_MESSAGE_HANDLE m = valid_security_message();
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 15), 1);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_ERROR], 1);
    IoTHubModuleClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    check_outcomes_free(&o);
}

int main(void) {
    RUN(creation_errors_name_the_fault_and_hide_secrets);
    RUN(null_destroyed_and_foreign_client_handles_are_refused);
    RUN(options_are_checked_by_name);
    RUN(schema_invalid_and_oversized_messages_are_refused_before_sending);
    RUN(destroy_completes_pending_sends_with_because_destroy);
    RUN(refused_connection_is_reported_to_the_callback);
    RUN(connect_timeout_is_a_message_timeout);
    RUN(destroy_inside_a_callback_does_not_deadlock);
    RUN(blocking_calls_are_refused_inside_callbacks);
    RUN(shutdown_stops_threads_and_iotsec_still_works_after);
    IoTHub_Deinit();
    return check_summary("test_client");
}
