/*
 * The guide's C code, verbatim, sending security messages over TLS to a real mosquitto on
 * 127.0.0.1; what the broker received is read back from the recorder's file (every PUBLISH on
 * devices/#, exact topic and payload bytes). Also the golden topics of WIRE.md on the wire,
 * pipelined sends, the native blocking API, TLS failures and shutdown.
 *
 * The guide's SendMessageAsync and SendConfirmCallback come from tests/guide/c.c unchanged,
 * through guide.h (which says how the test observes what the guide's callback receives).
 *
 * Environment: IOTSEC_TEST_CA_FILE, IOTSEC_TEST_WRONG_CA_FILE, IOTSEC_TEST_TLS_PORT,
 * IOTSEC_TEST_RECEIVED_FILE, IOTSEC_TEST_LOG_FILE, IOTSEC_TEST_GUIDE_MESSAGE_VALID,
 * IOTSEC_TEST_RUN (a word that keeps device ids of different runs apart).
 */
#include "check.h"

#include "guide.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECURITY_TOPIC_SUFFIX "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"

static const char *run_word(void) { return check_env("IOTSEC_TEST_RUN"); }

static char *guide_body(size_t *len) { return check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE_VALID"), len); }

static char *trusted_certs(const char *env) { return check_read_file(check_env(env), NULL); }

static void module_connection_string(char *out, size_t size, const char *device, const char *module) {
    snprintf(out, size, "HostName=localhost;DeviceId=%s;ModuleId=%s;SharedAccessKey=" KEY, device, module);
}

static void record_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    check_outcomes_record((check_outcomes *)context, (int)result, -1, context != NULL);
}

static void record_status(iotsec_status status, const char *text, void *context) {
    check_outcomes_record((check_outcomes *)context, -1, (int)status, (status == IOTSEC_OK) == (text == NULL));
}

/* `"topic":"<topic>"` and `"payload_base64":"<body>"` on one received line, QoS 1. */
static int received_count(const char *topic, const unsigned char *body, size_t len) {
    char topic_field[2048];
    snprintf(topic_field, sizeof topic_field, "\"topic\":\"%s\"", topic);
    char *b64 = check_base64(body, len);
    char *payload_field = malloc(strlen(b64) + 32);
    sprintf(payload_field, "\"payload_base64\":\"%s\"", b64);
    const char *needles[] = {topic_field, payload_field, "\"qos\":1", NULL};
    int n = check_count_lines(check_env("IOTSEC_TEST_RECEIVED_FILE"), needles);
    free(b64);
    free(payload_field);
    return n;
}

static bool wait_received(const char *topic, const unsigned char *body, size_t len, int count, double seconds) {
    double deadline = check_now() + check_timeout(seconds);
    while (received_count(topic, body, len) < count && check_now() < deadline) check_sleep_ms(50);
    return received_count(topic, body, len) >= count;
}

/* The guide's code, sending with a client configured the C SDK way (TrustedCerts). */
static void guide_code_sends_a_security_message_over_tls(void) {
    check_outcomes_init(&guide_outcomes);
    char device[64], cs[256], topic[256];
    snprintf(device, sizeof device, "dev-c-guide-%s", run_word());
    module_connection_string(cs, sizeof cs, device, "mod-c");
    snprintf(topic, sizeof topic, "devices/%s/modules/mod-c/messages/events/%s", device, SECURITY_TOPIC_SUFFIX);

    IoTHubAdapter adapter;
    adapter.moduleHandle = IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol);
    CHECK(adapter.moduleHandle != NULL);
    char *pem = trusted_certs("IOTSEC_TEST_CA_FILE");
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(adapter.moduleHandle, "TrustedCerts", pem), IOTHUB_CLIENT_OK);
    free(pem); /* copied */
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(adapter.moduleHandle, "iotsec.port", check_env("IOTSEC_TEST_TLS_PORT")),
                 IOTHUB_CLIENT_OK);

    size_t len = 0;
    char *body = guide_body(&len);
    CHECK(SendMessageAsync(&adapter, body, len));
    CHECK_EQ_INT(check_outcomes_wait(&guide_outcomes, 1, 20), 1);
    CHECK_EQ_INT(guide_outcomes.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 1);
    CHECK_EQ_INT(guide_outcomes.wrong_context, 0);
    CHECK(!pthread_equal(guide_outcomes.last_thread, pthread_self()));
    CHECK_MSG(wait_received(topic, (const unsigned char *)body, len, 1, 10), "mosquitto did not receive %s", topic);
    CHECK_EQ_INT(received_count(topic, (const unsigned char *)body, len), 1);

    IoTHubModuleClient_Destroy(adapter.moduleHandle);
    CHECK_EQ_INT(check_outcomes_calls(&guide_outcomes), 1);
    free(body);
    check_outcomes_free(&guide_outcomes);
}

/* The guide's code unchanged with nothing configured in code: IOTSEC_CA_FILE and
 * IOTSEC_MQTT_PORT (set in main) supply the CA and the port. */
static void guide_code_runs_with_the_environment_alone(void) {
    check_outcomes_init(&guide_outcomes);
    char device[64], cs[256], topic[256];
    snprintf(device, sizeof device, "dev-c-env-%s", run_word());
    module_connection_string(cs, sizeof cs, device, "mod-env");
    snprintf(topic, sizeof topic, "devices/%s/modules/mod-env/messages/events/%s", device, SECURITY_TOPIC_SUFFIX);
    IoTHubAdapter adapter = {IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol)};
    size_t len = 0;
    char *body = guide_body(&len);
    for (int i = 0; i < 3; i++) CHECK(SendMessageAsync(&adapter, body, len));
    CHECK_EQ_INT(check_outcomes_wait(&guide_outcomes, 3, 20), 3);
    CHECK_EQ_INT(guide_outcomes.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 3);
    CHECK_MSG(wait_received(topic, (const unsigned char *)body, len, 3, 10), "mosquitto did not receive 3 x %s", topic);
    IoTHubModuleClient_Destroy(adapter.moduleHandle);
    free(body);
    check_outcomes_free(&guide_outcomes);
}

static IOTHUB_MESSAGE_HANDLE golden_message(const char *body, size_t len) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(m);
    IoTHubMessage_SetMessageId(m, "golden-msg-0001");
    IoTHubMessage_SetContentTypeSystemProperty(m, "application/json");
    IoTHubMessage_SetContentEncodingSystemProperty(m, "utf-8");
    IoTHubMessage_SetProperty(m, "customProp", "customValue");
    return m;
}

/* WIRE.md's golden topics, byte for byte, as mosquitto received them. */
static void golden_topics_on_the_wire(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    const char *module_topic = "devices/dev-py/modules/mod1/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&"
                               "%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue";
    const char *device_topic = "devices/dev-py/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&"
                               "%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue";
    size_t len = 0;
    char *body = guide_body(&len);
    int modules_before = received_count(module_topic, (const unsigned char *)body, len);
    int devices_before = received_count(device_topic, (const unsigned char *)body, len);

    char *pem = trusted_certs("IOTSEC_TEST_CA_FILE");
    IOTHUB_MODULE_CLIENT_HANDLE module = IoTHubModuleClient_CreateFromConnectionString(
        "HostName=localhost;DeviceId=dev-py;ModuleId=mod1;SharedAccessKey=" KEY, MQTT_Protocol);
    IoTHubModuleClient_SetOption(module, "TrustedCerts", pem);
    IOTHUB_DEVICE_CLIENT_HANDLE device =
        IoTHubDeviceClient_CreateFromConnectionString("HostName=localhost;DeviceId=dev-py;SharedAccessKey=" KEY, MQTT_Protocol);
    IoTHubDeviceClient_SetOption(device, "TrustedCerts", pem);
    free(pem);
    IOTHUB_MESSAGE_HANDLE m = golden_message(body, len);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(module, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(device, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    IoTHubMessage_Destroy(m);
    CHECK_EQ_INT(check_outcomes_wait(&o, 2, 20), 2);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 2);
    CHECK_MSG(wait_received(module_topic, (const unsigned char *)body, len, modules_before + 1, 10), "no golden module topic");
    CHECK_MSG(wait_received(device_topic, (const unsigned char *)body, len, devices_before + 1, 10), "no golden device topic");
    IoTHubModuleClient_Destroy(module);
    IoTHubDeviceClient_Destroy(device);
    free(body);
}

/* 200 sends in flight on one connection: each confirmed exactly once with its own context. */
static int contexts_seen[200];
static pthread_mutex_t contexts_lock = PTHREAD_MUTEX_INITIALIZER;
static check_outcomes pipelined;

static void count_context(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    int *slot = context;
    pthread_mutex_lock(&contexts_lock);
    (*slot)++;
    pthread_mutex_unlock(&contexts_lock);
    check_outcomes_record(&pipelined, (int)result, -1, slot >= contexts_seen && slot < contexts_seen + 200);
}

static void pipelined_sends_are_each_confirmed_once(void) {
    check_outcomes_init(&pipelined);
    memset(contexts_seen, 0, sizeof contexts_seen);
    char device[64], cs[256], topic[256];
    snprintf(device, sizeof device, "dev-c-many-%s", run_word());
    module_connection_string(cs, sizeof cs, device, "m");
    snprintf(topic, sizeof topic, "devices/%s/modules/m/messages/events/%s", device, SECURITY_TOPIC_SUFFIX);
    IOTHUB_MODULE_CLIENT_HANDLE c = IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol);
    size_t len = 0;
    char *body = guide_body(&len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(m);
    int accepted = 0;
    for (int i = 0; i < 200; i++) accepted += IoTHubModuleClient_SendEventAsync(c, m, count_context, &contexts_seen[i]) == IOTHUB_CLIENT_OK;
    IoTHubMessage_Destroy(m);
    CHECK_EQ_INT(accepted, 200);
    CHECK_EQ_INT(check_outcomes_wait(&pipelined, 200, 60), 200);
    CHECK_EQ_INT(pipelined.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 200);
    CHECK_EQ_INT(pipelined.wrong_context, 0);
    int once = 0;
    pthread_mutex_lock(&contexts_lock);
    for (int i = 0; i < 200; i++) once += contexts_seen[i] == 1;
    pthread_mutex_unlock(&contexts_lock);
    CHECK_EQ_INT(once, 200);
    CHECK_MSG(wait_received(topic, (const unsigned char *)body, len, 200, 20), "mosquitto did not receive 200 messages");
    IoTHubModuleClient_Destroy(c);
    check_sleep_ms(100);
    CHECK_EQ_INT(check_outcomes_calls(&pipelined), 200);
    free(body);
}

/* The native API: blocking connect and send, product info in the user agent, the builder,
 * disconnect and reconnect, asynchronous send with a status callback. */
static void native_blocking_api_and_builder(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    char device[64], cs[256], topic_prefix[256], username_part[256];
    snprintf(device, sizeof device, "dev-c-native-%s", run_word());
    snprintf(cs, sizeof cs, "HostName=localhost;DeviceId=%s;SharedAccessKey=" KEY, device);
    snprintf(topic_prefix, sizeof topic_prefix,
             "\"topic\":\"devices/%s/messages/events/%%24.ct=application%%2Fjson&%%24.ce=utf-8&%s\"", device,
             SECURITY_TOPIC_SUFFIX);
    snprintf(username_part, sizeof username_part, "u'localhost/%s/?api-version=2021-04-12&DeviceClientType=iotsec%%2F", device);

    IOTHUB_CLIENT_CORE_HANDLE c = iotsec_client_create(cs, IOTSEC_CLIENT_DEVICE);
    CHECK_EQ_INT(iotsec_client_set_option(c, "ca_file", check_env("IOTSEC_TEST_CA_FILE")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", check_env("IOTSEC_TEST_TLS_PORT")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "product_info", "c-test 1.0"), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_is_connected(c), 0);
    CHECK_EQ_INT(iotsec_client_connect(c), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_is_connected(c), 1);
    const char *log_needles[] = {username_part, "%28c-test%201.0%3B%20", NULL};
    CHECK_MSG(check_wait_lines(check_env("IOTSEC_TEST_LOG_FILE"), log_needles, 1, 10) >= 1,
              "mosquitto's log has no CONNECT with username %s...(c-test 1.0; ...)", username_part);

    IOTHUB_MESSAGE_HANDLE m = iotsec_security_message_create(
        "e89dc5f5-feac-4c3e-87e2-93c16f010c25", "1.0.0",
        "[{\"name\":\"ProcessCreate\",\"records\":[{\"Executable\":\"/usr/bin/c-test\",\"ProcessId\":42,"
        "\"ParentProcessId\":1,\"UserId\":\"0\",\"CommandLine\":\"c-test\"}]}]");
    CHECK(m != NULL);
    const char *sent_needles[] = {topic_prefix, "\"qos\":1", NULL};
    int before = check_count_lines(check_env("IOTSEC_TEST_RECEIVED_FILE"), sent_needles);
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_OK);
    CHECK_EQ_INT(check_wait_lines(check_env("IOTSEC_TEST_RECEIVED_FILE"), sent_needles, before + 1, 10), before + 1);

    CHECK_EQ_INT(iotsec_client_disconnect(c), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_is_connected(c), 0);
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_OK); /* reconnects */
    CHECK_EQ_INT(iotsec_client_send_async(c, m, record_status, &o), IOTSEC_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 20), 1);
    CHECK_EQ_INT(o.by_status[IOTSEC_OK], 1);
    CHECK_EQ_INT(o.wrong_context, 0);
    CHECK_EQ_INT(check_wait_lines(check_env("IOTSEC_TEST_RECEIVED_FILE"), sent_needles, before + 3, 10), before + 3);
    IoTHubMessage_Destroy(m);
    iotsec_client_destroy(c);
}

static void untrusted_server_certificate_is_a_tls_error(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    char device[64], cs[256];
    snprintf(device, sizeof device, "dev-c-tls-%s", run_word());
    module_connection_string(cs, sizeof cs, device, "m");
    IOTHUB_MODULE_CLIENT_HANDLE c = IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol);
    char *pem = trusted_certs("IOTSEC_TEST_WRONG_CA_FILE");
    IoTHubModuleClient_SetOption(c, "TrustedCerts", pem);
    free(pem);
    size_t len = 0;
    char *body = guide_body(&len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(m);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 20), 1);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_ERROR], 1);
    CHECK_EQ_INT(o.last_kind, IOTSEC_ERROR_TLS);
    CHECK_CONTAINS(o.last_text, "localhost");
    IoTHubModuleClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    free(body);
}

static void sending_works_again_after_shutdown(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    char device[64], cs[256], topic[256];
    snprintf(device, sizeof device, "dev-c-restart-%s", run_word());
    module_connection_string(cs, sizeof cs, device, "m");
    snprintf(topic, sizeof topic, "devices/%s/modules/m/messages/events/%s", device, SECURITY_TOPIC_SUFFIX);
    IOTHUB_MODULE_CLIENT_HANDLE c = IoTHubModuleClient_CreateFromConnectionString(cs, MQTT_Protocol);
    size_t len = 0;
    char *body = guide_body(&len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(m);
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 20), 1);
    CHECK_EQ_INT(iotsec_shutdown(), IOTSEC_OK);
    /* The same handle after shutdown: a new runtime, a new connection. */
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 2, 20), 2);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 2);
    CHECK_MSG(wait_received(topic, (const unsigned char *)body, len, 2, 10), "mosquitto did not receive both messages");
    IoTHubModuleClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    free(body);
}

/* Options by name, as core reads them: message_ids=when_unset gives a message without an id a
 * `$.mid` on the wire, durable_queue keeps its file, bad names and values name the option. */
static void options_from_core_message_ids_and_durable_queue(void) {
    char device[64], cs[256], dir[] = "/tmp/iotsec-c-durable-XXXXXX", queue[128], topic_needle[256];
    snprintf(device, sizeof device, "dev-c-options-%s", run_word());
    snprintf(cs, sizeof cs, "HostName=localhost;DeviceId=%s;SharedAccessKey=" KEY, device);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(queue, sizeof queue, "%s/queue.redb", dir);

    IOTHUB_CLIENT_CORE_HANDLE c = iotsec_client_create(cs, IOTSEC_CLIENT_DEVICE);
    CHECK_EQ_INT(iotsec_client_set_option(c, "message_ids", "always"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "option `message_ids`");
    CHECK_CONTAINS(iotsec_last_error_message(), "`when_unset`");
    CHECK_EQ_INT(iotsec_client_set_option(c, "reconnect_jiter", "0.2"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "did you mean `reconnect_jitter`?");
    CHECK_EQ_INT(iotsec_client_set_option(c, "reconnect_jitter", "2"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "option `reconnect_jitter`");
    CHECK_EQ_INT(iotsec_client_set_option(c, "ca_file", check_env("IOTSEC_TEST_CA_FILE")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", check_env("IOTSEC_TEST_TLS_PORT")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "message_ids", "when_unset"), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "durable_queue", queue), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "reconnect_initial", "0.2"), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "reconnect_max_ms", "2000"), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "reconnect_jitter", "0.2"), IOTSEC_OK);

    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("no id of its own");
    snprintf(topic_needle, sizeof topic_needle, "\"topic\":\"devices/%s/messages/events/%%24.mid=", device);
    const char *needles[] = {topic_needle, "\"qos\":1", NULL};
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_OK);
    CHECK_EQ_INT(check_wait_lines(check_env("IOTSEC_TEST_RECEIVED_FILE"), needles, 1, 10), 1);
    CHECK_MSG(access(queue, F_OK) == 0, "the durable queue %s was not created", queue);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", "1"), IOTSEC_ERROR_INVALID_ARGUMENT); /* in use */
    IoTHubMessage_Destroy(m);
    iotsec_client_destroy(c);
    unlink(queue);
    rmdir(dir);
}

int main(void) {
    /* Before any thread exists: the environment fallbacks the guide's code relies on. */
    setenv("IOTSEC_CA_FILE", check_env("IOTSEC_TEST_CA_FILE"), 1);
    setenv("IOTSEC_MQTT_PORT", check_env("IOTSEC_TEST_TLS_PORT"), 1);
    CHECK_EQ_INT(IoTHub_Init(), 0);
    RUN(guide_code_sends_a_security_message_over_tls);
    RUN(guide_code_runs_with_the_environment_alone);
    RUN(golden_topics_on_the_wire);
    RUN(pipelined_sends_are_each_confirmed_once);
    RUN(native_blocking_api_and_builder);
    RUN(untrusted_server_certificate_is_a_tls_error);
    RUN(sending_works_again_after_shutdown);
    RUN(options_from_core_message_ids_and_durable_queue);
    IoTHub_Deinit();
    return check_summary("test_guide");
}
