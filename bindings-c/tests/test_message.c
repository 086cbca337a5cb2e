/*
 * The message API, validation, the builder and the error API, without a network: the
 * IoTHubMessage_* names with the C SDK's semantics, NULL and invalid handles, the golden
 * topics of WIRE.md through iotsec_message_topic, and the shared guide vectors.
 *
 * Environment: IOTSEC_TEST_GUIDE_MESSAGE, IOTSEC_TEST_GUIDE_MESSAGE_VALID (paths),
 * IOTSEC_TEST_VERSION (the expected version).
 */
#include "check.h"

static const char *SECURITY_IFID = "urn:azureiot:Security:SecurityAgent:1";

static void bytearray_message_copies_its_body(void) {
    unsigned char body[] = {'{', '}', 0, 0xff, 'x'};
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(body, sizeof body);
    CHECK(m != NULL);
    body[0] = 'X';
    const unsigned char *got = NULL;
    size_t size = 0;
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(m, &got, &size), IOTHUB_MESSAGE_OK);
    CHECK_EQ_INT(size, sizeof body);
    CHECK(got != NULL && got[0] == '{' && got[2] == 0 && got[3] == 0xff);
    CHECK_EQ_INT(IoTHubMessage_GetContentType(m), IOTHUBMESSAGE_BYTEARRAY);
    CHECK(IoTHubMessage_GetString(m) == NULL);
    IoTHubMessage_Destroy(m);
}

static void string_message_keeps_its_text(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{\"a\":\"h\xc3\xa9\"}");
    CHECK(m != NULL);
    CHECK_STR(IoTHubMessage_GetString(m), "{\"a\":\"h\xc3\xa9\"}");
    CHECK_EQ_INT(IoTHubMessage_GetContentType(m), IOTHUBMESSAGE_STRING);
    const unsigned char *got = NULL;
    size_t size = 0;
    /* As in the C SDK: the byte-array getter refuses a string message. */
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(m, &got, &size), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(iotsec_message_get_body(m, &got, &size), IOTSEC_OK);
    CHECK_EQ_INT(size, 11);
    CHECK(got != NULL && memcmp(got, "{\"a\":\"h\xc3\xa9\"}", 11) == 0);
    IoTHubMessage_Destroy(m);
}

static void empty_and_null_bodies(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(NULL, 0);
    CHECK(m != NULL);
    const unsigned char *got = NULL;
    size_t size = 99;
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(m, &got, &size), IOTHUB_MESSAGE_OK);
    CHECK_EQ_INT(size, 0);
    IoTHubMessage_Destroy(m);

    CHECK(IoTHubMessage_CreateFromByteArray(NULL, 5) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "byteArray");
    CHECK(IoTHubMessage_CreateFromString(NULL) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "source");
}

static void system_properties_round_trip(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    CHECK(IoTHubMessage_GetMessageId(m) == NULL);
    CHECK(IoTHubMessage_GetCorrelationId(m) == NULL);
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, "mid-1"), IOTHUB_MESSAGE_OK);
    const char *first = IoTHubMessage_GetMessageId(m);
    CHECK_STR(first, "mid-1");
    /* A pointer handed out stays valid while the value is unchanged. */
    CHECK(IoTHubMessage_GetMessageId(m) == first);
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, "mid-2"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetMessageId(m), "mid-2");
    CHECK_EQ_INT(IoTHubMessage_SetCorrelationId(m, "cid"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetCorrelationId(m), "cid");
    CHECK_EQ_INT(IoTHubMessage_SetContentTypeSystemProperty(m, "application/json"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetContentTypeSystemProperty(m), "application/json");
    CHECK_EQ_INT(IoTHubMessage_SetContentEncodingSystemProperty(m, "utf-8"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetContentEncodingSystemProperty(m), "utf-8");
    CHECK_EQ_INT(IoTHubMessage_SetMessageUserIdSystemProperty(m, "uid"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetMessageUserIdSystemProperty(m), "uid");
    CHECK_EQ_INT(IoTHubMessage_SetOutputName(m, "out1"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetOutputName(m), "out1");
    CHECK_EQ_INT(iotsec_message_set_system_property(m, "expiry_time_utc", "2019-02-02T00:00:00"), IOTSEC_OK);
    CHECK_STR(iotsec_message_get_system_property(m, "expiry_time_utc"), "2019-02-02T00:00:00");
    CHECK_EQ_INT(iotsec_message_set_system_property(m, "message_id", NULL), IOTSEC_OK);
    CHECK(IoTHubMessage_GetMessageId(m) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_message_set_system_property(m, "colour", "blue"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "colour");
    CHECK(iotsec_message_get_system_property(m, "colour") == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, NULL), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "messageId");
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, "bad \xff"), IOTHUB_MESSAGE_INVALID_TYPE);
    IoTHubMessage_Destroy(m);
}

static void custom_properties(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    CHECK(IoTHubMessage_GetProperty(m, "b") == NULL);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "b", "1"), IOTHUB_MESSAGE_OK);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "a", "2"), IOTHUB_MESSAGE_OK);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "b", "3"), IOTHUB_MESSAGE_OK);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "uni", "\xc3\xa9\xe2\x82\xac"), IOTHUB_MESSAGE_OK);
    CHECK_STR(IoTHubMessage_GetProperty(m, "b"), "3");
    CHECK_STR(IoTHubMessage_GetProperty(m, "a"), "2");
    char *json = iotsec_message_properties_json(m);
    CHECK_STR(json, "[[\"b\",\"3\"],[\"a\",\"2\"],[\"uni\",\"\xc3\xa9\xe2\x82\xac\"]]");
    iotsec_string_free(json);
    CHECK_EQ_INT(iotsec_message_remove_property(m, "b"), IOTSEC_OK);
    CHECK(IoTHubMessage_GetProperty(m, "b") == NULL);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, NULL, "v"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "key");
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "k", NULL), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "value");
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "", "v"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "k", "\xc3"), IOTHUB_MESSAGE_INVALID_TYPE);
    CHECK(IoTHubMessage_GetProperty(m, NULL) == NULL);
    IoTHubMessage_Destroy(m);
}

static void security_flag_changes_only_the_interface_id(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    CHECK(!IoTHubMessage_IsSecurityMessage(m));
    CHECK_EQ_INT(IoTHubMessage_SetAsSecurityMessage(m), IOTHUB_MESSAGE_OK);
    CHECK(IoTHubMessage_IsSecurityMessage(m));
    CHECK_STR(iotsec_message_get_system_property(m, "interface_id"), SECURITY_IFID);
    /* Unlike the C SDK, iotsec does not set the content encoding (WIRE.md section 1). */
    CHECK(IoTHubMessage_GetContentEncodingSystemProperty(m) == NULL);
    IoTHubMessage_Destroy(m);

    m = IoTHubMessage_CreateFromString("{}");
    IoTHubMessage_SetContentEncodingSystemProperty(m, "utf-8");
    IoTHubMessage_SetAsSecurityMessage(m);
    CHECK_STR(IoTHubMessage_GetContentEncodingSystemProperty(m), "utf-8");
    IoTHubMessage_Destroy(m);
}

static void clone_is_independent(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("body");
    IoTHubMessage_SetMessageId(m, "one");
    IoTHubMessage_SetProperty(m, "p", "v");
    IoTHubMessage_SetAsSecurityMessage(m);
    IOTHUB_MESSAGE_HANDLE c = IoTHubMessage_Clone(m);
    CHECK(c != NULL && c != m);
    IoTHubMessage_SetMessageId(m, "two");
    IoTHubMessage_Destroy(m);
    CHECK_STR(IoTHubMessage_GetMessageId(c), "one");
    CHECK_STR(IoTHubMessage_GetProperty(c, "p"), "v");
    CHECK_STR(IoTHubMessage_GetString(c), "body");
    CHECK_EQ_INT(IoTHubMessage_GetContentType(c), IOTHUBMESSAGE_STRING);
    CHECK(IoTHubMessage_IsSecurityMessage(c));
    IoTHubMessage_Destroy(c);
}

static void null_destroyed_and_foreign_handles_are_refused(void) {
    IOTHUB_MESSAGE_HANDLE dead = IoTHubMessage_CreateFromString("x");
    IoTHubMessage_Destroy(dead);
    IoTHubMessage_Destroy(dead); /* twice: harmless */
    IoTHubMessage_Destroy(NULL);
    IOTHUB_MESSAGE_HANDLE bogus = (IOTHUB_MESSAGE_HANDLE)(uintptr_t)0xdeadbeef;
    IOTHUB_MODULE_CLIENT_HANDLE client = iotsec_client_create(
        "HostName=localhost;DeviceId=d;ModuleId=m;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        IOTSEC_CLIENT_MODULE);
    CHECK(client != NULL);
    IOTHUB_MESSAGE_HANDLE wrong_type = (IOTHUB_MESSAGE_HANDLE)(void *)client;
    IOTHUB_MESSAGE_HANDLE handles[] = {NULL, dead, bogus, wrong_type};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        IOTHUB_MESSAGE_HANDLE h = handles[i];
        const unsigned char *buf = NULL;
        size_t size = 0;
        CHECK_EQ_INT(IoTHubMessage_GetByteArray(h, &buf, &size), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK_CONTAINS(iotsec_last_error_message(), "message handle");
        CHECK(IoTHubMessage_GetString(h) == NULL);
        CHECK_EQ_INT(IoTHubMessage_GetContentType(h), IOTHUBMESSAGE_UNKNOWN);
        CHECK(IoTHubMessage_Clone(h) == NULL);
        CHECK_EQ_INT(IoTHubMessage_SetMessageId(h, "x"), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK(IoTHubMessage_GetMessageId(h) == NULL);
        CHECK_EQ_INT(IoTHubMessage_SetCorrelationId(h, "x"), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK_EQ_INT(IoTHubMessage_SetContentTypeSystemProperty(h, "x"), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK_EQ_INT(IoTHubMessage_SetContentEncodingSystemProperty(h, "x"), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK_EQ_INT(IoTHubMessage_SetProperty(h, "k", "v"), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK(IoTHubMessage_GetProperty(h, "k") == NULL);
        CHECK_EQ_INT(IoTHubMessage_SetAsSecurityMessage(h), IOTHUB_MESSAGE_INVALID_ARG);
        CHECK(!IoTHubMessage_IsSecurityMessage(h));
        CHECK_EQ_INT(iotsec_message_set_system_property(h, "message_id", "x"), IOTSEC_ERROR_INVALID_ARGUMENT);
        CHECK(iotsec_message_properties_json(h) == NULL);
        CHECK(iotsec_message_topic(h, "d", NULL) == NULL);
        CHECK_EQ_INT(iotsec_message_get_body(h, &buf, &size), IOTSEC_ERROR_INVALID_ARGUMENT);
        IoTHubMessage_Destroy(h); /* ignored, and must not destroy the client behind wrong_type */
    }
    /* The client survived being passed as a message. */
    char *username = iotsec_client_mqtt_username(client);
    CHECK(username != NULL);
    iotsec_string_free(username);
    iotsec_client_destroy(client);

    IOTHUB_MESSAGE_HANDLE live = IoTHubMessage_CreateFromString("x");
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(live, NULL, NULL), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_CONTAINS(iotsec_last_error_message(), "buffer");
    IoTHubMessage_Destroy(live);
}

/* The golden topics of WIRE.md section 2, through the C API. */
static IOTHUB_MESSAGE_HANDLE golden_message(void) {
    char body[484];
    memset(body, 'x', 483);
    body[483] = '\0';
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString(body);
    IoTHubMessage_SetAsSecurityMessage(m);
    IoTHubMessage_SetMessageId(m, "golden-msg-0001");
    IoTHubMessage_SetContentTypeSystemProperty(m, "application/json");
    IoTHubMessage_SetContentEncodingSystemProperty(m, "utf-8");
    IoTHubMessage_SetProperty(m, "customProp", "customValue");
    return m;
}

static void golden_topics(void) {
    IOTHUB_MESSAGE_HANDLE m = golden_message();
    char *t = iotsec_message_topic(m, "dev-py", NULL);
    CHECK_STR(t, "devices/dev-py/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&%24.ce=utf-8&"
                 "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue");
    iotsec_string_free(t);
    t = iotsec_message_topic(m, "dev-py", "mod1");
    CHECK_STR(t, "devices/dev-py/modules/mod1/messages/events/%24.mid=golden-msg-0001&%24.ct=application%2Fjson&"
                 "%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&customProp=customValue");
    iotsec_string_free(t);
    IoTHubMessage_Destroy(m);

    m = IoTHubMessage_CreateFromString("{}");
    IoTHubMessage_SetAsSecurityMessage(m);
    t = iotsec_message_topic(m, "dev1", NULL);
    CHECK_STR(t, "devices/dev1/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1");
    iotsec_string_free(t);
    IoTHubMessage_Destroy(m);

    m = IoTHubMessage_CreateFromString("body");
    IoTHubMessage_SetMessageId(m, "mid sp/sl!*'()~\xc3\xa9");
    IoTHubMessage_SetProperty(m, "uni", "\xc3\xa9\xe2\x82\xac");
    t = iotsec_message_topic(m, "dev1", NULL);
    CHECK_STR(t, "devices/dev1/messages/events/%24.mid=mid%20sp%2Fsl%21%2A%27%28%29~%C3%A9&uni=%C3%A9%E2%82%AC");
    iotsec_string_free(t);
    CHECK(iotsec_message_topic(m, NULL, NULL) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "device_id");
    IoTHubMessage_Destroy(m);

    /* Over IoT Hub's 256 KiB limit: refused before anything is sent. */
    unsigned char *big = calloc(262145, 1);
    m = IoTHubMessage_CreateFromByteArray(big, 262145);
    free(big);
    CHECK(iotsec_message_topic(m, "dev1", NULL) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_MESSAGE_TOO_LARGE);
    IoTHubMessage_Destroy(m);
}

static void validation_reports_pointers(void) {
    size_t len = 0;
    char *guide = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE"), &len);
    CHECK(guide != NULL);
    char *violations = iotsec_validate((const uint8_t *)guide, len);
    CHECK_CONTAINS(violations, "\"pointer\":\"/Events/0/Payload/0/UserId\"");
    CHECK_CONTAINS(violations, "\"rule\":\"required\"");
    iotsec_string_free(violations);
    CHECK_EQ_INT(iotsec_is_valid((const uint8_t *)guide, len), 0);
    free(guide);

    char *valid = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE_VALID"), &len);
    violations = iotsec_validate((const uint8_t *)valid, len);
    CHECK_STR(violations, "[]");
    iotsec_string_free(violations);
    CHECK_EQ_INT(iotsec_is_valid((const uint8_t *)valid, len), 1);
    free(valid);

    violations = iotsec_validate((const uint8_t *)"{\n  \"a\": tru }", 14);
    CHECK_CONTAINS(violations, "\"rule\":\"json\"");
    CHECK_CONTAINS(violations, "\"line\":2");
    iotsec_string_free(violations);
    CHECK(iotsec_validate(NULL, 3) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(iotsec_is_valid(NULL, 3), -1);
}

static const char *PROCESS_CREATE_EVENTS =
    "[{\"name\":\"ProcessCreate\",\"records\":[{\"Executable\":\"/usr/bin/myApp\",\"ProcessId\":11750,"
    "\"ParentProcessId\":1593,\"UserId\":\"1000\",\"UserName\":\"aUser\",\"CommandLine\":\"myApp -a -b\"}]},"
    " {\"name\":\"ListeningPorts\",\"records\":[]}]";

static void builder_builds_valid_messages_and_explains_invalid_ones(void) {
    const char *agent = "e89dc5f5-feac-4c3e-87e2-93c16f010c25";
    char *body = iotsec_security_message_build(agent, "0.0.1", PROCESS_CREATE_EVENTS);
    CHECK(body != NULL);
    CHECK_CONTAINS(body, "\"MessageSchemaVersion\":\"1.0\"");
    CHECK_CONTAINS(body, "\"Name\":\"ProcessCreate\"");
    CHECK_CONTAINS(body, "\"Category\":\"Triggered\"");
    CHECK_CONTAINS(body, "\"IsEmpty\":true");
    if (body) CHECK_EQ_INT(iotsec_is_valid((const uint8_t *)body, strlen(body)), 1);
    iotsec_string_free(body);

    body = iotsec_security_message_build(agent, "0.0.1", "[{\"name\":\"ProcessCreate\",\"records\":[{\"Executable\":\"/x\"}]}]");
    CHECK(body == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_SCHEMA_VALIDATION);
    CHECK_CONTAINS(iotsec_last_error_message(), "/Events/0/Payload/0");
    CHECK_CONTAINS(iotsec_last_error_violations_json(), "ProcessId");

    CHECK(iotsec_security_message_build(agent, "0.0.1", "[{\"name\":\"ProcesCreate\",\"records\":[]}]") == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "events_json[0].name");
    CHECK_STR(iotsec_last_error_violations_json(), "[]");
    CHECK(iotsec_security_message_build(NULL, "0.0.1", "[]") == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "agent_id");

    IOTHUB_MESSAGE_HANDLE m = iotsec_security_message_create(agent, "0.0.1", PROCESS_CREATE_EVENTS);
    CHECK(m != NULL);
    CHECK(IoTHubMessage_IsSecurityMessage(m));
    CHECK_STR(IoTHubMessage_GetContentTypeSystemProperty(m), "application/json");
    CHECK_STR(IoTHubMessage_GetContentEncodingSystemProperty(m), "utf-8");
    CHECK_EQ_INT(IoTHubMessage_GetContentType(m), IOTHUBMESSAGE_BYTEARRAY);
    IoTHubMessage_Destroy(m);
}

/* The Azure IoT C SDK's values (its enums have no _INVALID entry). */
_Static_assert(IOTHUB_CLIENT_OK == 0 && IOTHUB_CLIENT_INVALID_ARG == 1 && IOTHUB_CLIENT_ERROR == 2 &&
                   IOTHUB_CLIENT_INVALID_SIZE == 3 && IOTHUB_CLIENT_INDEFINITE_TIME == 4,
               "IOTHUB_CLIENT_RESULT values");
_Static_assert(IOTHUB_CLIENT_CONFIRMATION_OK == 0 && IOTHUB_CLIENT_CONFIRMATION_BECAUSE_DESTROY == 1 &&
                   IOTHUB_CLIENT_CONFIRMATION_MESSAGE_TIMEOUT == 2 && IOTHUB_CLIENT_CONFIRMATION_ERROR == 3,
               "IOTHUB_CLIENT_CONFIRMATION_RESULT values");
_Static_assert(IOTHUB_MESSAGE_OK == 0 && IOTHUB_MESSAGE_INVALID_ARG == 1 && IOTHUB_MESSAGE_INVALID_TYPE == 2 &&
                   IOTHUB_MESSAGE_ERROR == 3,
               "IOTHUB_MESSAGE_RESULT values");
_Static_assert(IOTHUBMESSAGE_BYTEARRAY == 0 && IOTHUBMESSAGE_STRING == 1 && IOTHUBMESSAGE_UNKNOWN == 2,
               "IOTHUBMESSAGE_CONTENT_TYPE values");

static void error_api_and_version(void) {
    CHECK_STR(iotsec_error_kind_name(IOTSEC_ERROR_SCHEMA_VALIDATION), "SCHEMA_VALIDATION");
    CHECK_STR(iotsec_error_kind_name(IOTSEC_ERROR_CONNECTION_FAILED), "CONNECTION_FAILED");
    CHECK_STR(iotsec_error_kind_name(IOTSEC_OK), "OK");
    CHECK(iotsec_error_kind_name(999) == NULL);
    /* A failure sets the last error; the next successful call clears it. */
    CHECK(IoTHubMessage_CreateFromString(NULL) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_OK);
    CHECK(iotsec_last_error_message() == NULL);
    IoTHubMessage_Destroy(m);
    CHECK_STR(iotsec_version(), check_env("IOTSEC_TEST_VERSION"));
    iotsec_string_free(NULL);
    CHECK_EQ_INT(IoTHub_Init(), 0);
}

static void *set_error_on_other_thread(void *arg) {
    (void)arg;
    IoTHubMessage_CreateFromString(NULL);
    return (void *)(uintptr_t)iotsec_last_error_kind();
}

static void last_error_is_per_thread(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    pthread_t t;
    void *kind = NULL;
    pthread_create(&t, NULL, set_error_on_other_thread, NULL);
    pthread_join(t, &kind);
    CHECK_EQ_INT((uintptr_t)kind, IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_OK);
    IoTHubMessage_Destroy(m);
}

int main(void) {
    RUN(bytearray_message_copies_its_body);
    RUN(string_message_keeps_its_text);
    RUN(empty_and_null_bodies);
    RUN(system_properties_round_trip);
    RUN(custom_properties);
    RUN(security_flag_changes_only_the_interface_id);
    RUN(clone_is_independent);
    RUN(null_destroyed_and_foreign_handles_are_refused);
    RUN(golden_topics);
    RUN(validation_reports_pointers);
    RUN(builder_builds_valid_messages_and_explains_invalid_ones);
    RUN(error_api_and_version);
    RUN(last_error_is_per_thread);
    iotsec_shutdown();
    return check_summary("test_message");
}
