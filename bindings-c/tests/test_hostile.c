/*
 * Hostile input through the C API: NULL arguments and impossible sizes, handles of the wrong
 * kind, use after Destroy, text that is not UTF-8, 10 MB bodies, 100,000 custom properties,
 * JSON nested 100,000 levels deep (as a body, through iotsec_validate and the builder). Each
 * gives its documented result and last error quickly; none crashes, hangs or overflows the
 * stack. Every check runs without a broker (port 1: refused), so nothing here may connect.
 *
 * Run under valgrind too (scripts/test-c.sh): no invalid read or write, nothing leaked.
 */
#include "check.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define TEN_MB (10u * 1024u * 1024u)
#define DEPTH 100000

static const char *DEVICE_CS = "HostName=localhost;DeviceId=dev-c-hostile;SharedAccessKey=" KEY;

/* Seconds a single hostile call may take (stretched under valgrind). */
#define FAST 2.0

static IOTHUB_DEVICE_CLIENT_HANDLE offline_client(void) {
    IOTHUB_DEVICE_CLIENT_HANDLE c = IoTHubDeviceClient_CreateFromConnectionString(DEVICE_CS, MQTT_Protocol);
    CHECK(c != NULL);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", "1"), IOTSEC_OK);
    return c;
}

static char *repeated(const char *unit, size_t times, const char *tail, size_t tail_times) {
    size_t u = strlen(unit), t = tail ? strlen(tail) : 0;
    char *s = malloc(u * times + t * tail_times + 1);
    size_t o = 0;
    for (size_t i = 0; i < times; i++, o += u) memcpy(s + o, unit, u);
    for (size_t i = 0; i < tail_times; i++, o += t) memcpy(s + o, tail, t);
    s[o] = '\0';
    return s;
}

static void null_arguments_and_impossible_sizes(void) {
    CHECK(IoTHubMessage_CreateFromByteArray(NULL, 5) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "NULL");
    unsigned char one = '{';
    CHECK(IoTHubMessage_CreateFromByteArray(&one, SIZE_MAX) == NULL); /* never read past `one` */
    CHECK_CONTAINS(iotsec_last_error_message(), "impossible size");
    CHECK(IoTHubMessage_CreateFromString(NULL) == NULL);
    IOTHUB_MESSAGE_HANDLE empty = IoTHubMessage_CreateFromByteArray(NULL, 0); /* an empty body is fine */
    CHECK(empty != NULL);
    IoTHubMessage_Destroy(empty);

    CHECK(iotsec_validate(NULL, 3) == NULL);
    CHECK(iotsec_validate(&one, SIZE_MAX) == NULL);
    CHECK_EQ_INT(iotsec_is_valid(NULL, 3), -1);
    CHECK(iotsec_security_message_build(NULL, "1", "[]") == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "agent_id");
    CHECK(iotsec_security_message_build("e89dc5f5-feac-4c3e-87e2-93c16f010c25", "1", NULL) == NULL);
    CHECK_CONTAINS(iotsec_last_error_message(), "events_json");
    iotsec_string_free(NULL);

    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, NULL, "v"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "k", NULL), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(NULL, "k", "v"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK(IoTHubMessage_GetProperty(m, NULL) == NULL);
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(NULL, "x"), IOTHUB_MESSAGE_INVALID_ARG);
    const unsigned char *buffer = NULL;
    size_t size = 0;
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(m, NULL, &size), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(IoTHubMessage_GetByteArray(m, &buffer, NULL), IOTHUB_MESSAGE_INVALID_ARG);

    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, NULL, NULL, NULL), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(iotsec_client_set_option(c, NULL, "1"), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", NULL), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(IoTHubDeviceClient_SetOption(c, "keepalive", NULL), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(IoTHubDeviceClient_SetConnectionStatusCallback(c, NULL, NULL), IOTHUB_CLIENT_OK);
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
}

static void handles_of_the_wrong_kind_and_use_after_destroy(void) {
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    /* A client handle used as a message and the other way round. */
    CHECK_EQ_INT(IoTHubMessage_SetMessageId((IOTHUB_MESSAGE_HANDLE)(void *)c, "x"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK(IoTHubMessage_GetString((IOTHUB_MESSAGE_HANDLE)(void *)c) == NULL);
    CHECK_EQ_INT(iotsec_client_send((IOTHUB_CLIENT_CORE_HANDLE)(void *)m, m), IOTSEC_ERROR_INVALID_ARGUMENT);
    /* Pointers that were never handles, including ones into real memory. */
    char not_a_handle[64] = {0};
    CHECK_EQ_INT(IoTHubMessage_SetAsSecurityMessage((IOTHUB_MESSAGE_HANDLE)(void *)not_a_handle), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK_EQ_INT(iotsec_client_connect((IOTHUB_CLIENT_CORE_HANDLE)(void *)not_a_handle), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_EQ_INT(iotsec_client_connect((IOTHUB_CLIENT_CORE_HANDLE)(uintptr_t)UINTPTR_MAX), IOTSEC_ERROR_INVALID_ARGUMENT);
    /* After Destroy: everything refused, Destroy again harmless. */
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, NULL, NULL), IOTHUB_CLIENT_INVALID_ARG);
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, "x"), IOTHUB_MESSAGE_INVALID_ARG);
    CHECK(IoTHubMessage_Clone(m) == NULL);
    CHECK(iotsec_message_properties_json(m) == NULL);
    CHECK_EQ_INT(iotsec_client_is_connected(c), -1);
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
}

static void text_that_is_not_utf8(void) {
    /* A connection string that is not UTF-8: refused by name, its bytes never echoed. */
    CHECK(IoTHubDeviceClient_CreateFromConnectionString("HostName=localhost;DeviceId=d\xff;SharedAccessKey=" KEY, MQTT_Protocol) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "not UTF-8");
    CHECK(strstr(iotsec_last_error_message(), KEY) == NULL);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("x");
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "k\xc3", "v"), IOTHUB_MESSAGE_INVALID_TYPE);
    CHECK_EQ_INT(IoTHubMessage_SetProperty(m, "k", "\xed\xa0\x80"), IOTHUB_MESSAGE_INVALID_TYPE); /* a UTF-16 surrogate */
    CHECK_EQ_INT(IoTHubMessage_SetMessageId(m, "\xfe"), IOTHUB_MESSAGE_INVALID_TYPE);
    IoTHubMessage_Destroy(m);
    /* A body that is not UTF-8: any bytes may be sent, but not as a security message. */
    const unsigned char body[] = "{\"AgentId\": \"\xff\xfe\"}";
    char *v = iotsec_validate(body, sizeof body - 1);
    CHECK_CONTAINS(v, "\"rule\":\"utf8\"");
    CHECK_CONTAINS(v, "\"offset\":13");
    iotsec_string_free(v);
    IOTHUB_MESSAGE_HANDLE s = IoTHubMessage_CreateFromByteArray(body, sizeof body - 1);
    IoTHubMessage_SetAsSecurityMessage(s);
    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, s, NULL, NULL), IOTHUB_CLIENT_ERROR);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_SCHEMA_VALIDATION);
    CHECK_CONTAINS(iotsec_last_error_violations_json(), "utf8");
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(s);
}

static void ten_megabyte_bodies_are_too_large_at_once(void) {
    unsigned char *big = malloc(TEN_MB);
    memset(big, '[', TEN_MB);
    double started = check_now();
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray(big, TEN_MB);
    CHECK(m != NULL);
    IoTHubMessage_SetAsSecurityMessage(m);
    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, NULL, NULL), IOTHUB_CLIENT_INVALID_SIZE);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_MESSAGE_TOO_LARGE);
    CHECK_CONTAINS(iotsec_last_error_message(), "262144");
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_ERROR_MESSAGE_TOO_LARGE);
    CHECK_MSG(check_now() - started < check_timeout(FAST), "took %.2f s", check_now() - started);
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    /* Validation copes with 10 MB in one pass. */
    memcpy(big, "{\"AgentId\":\"", 12);
    memset(big + 12, 'x', TEN_MB - 14);
    memcpy(big + TEN_MB - 2, "\"}", 2);
    char *v = iotsec_validate(big, TEN_MB);
    CHECK(v != NULL && strcmp(v, "[]") != 0);
    iotsec_string_free(v);
    free(big);
}

static void a_hundred_thousand_properties_are_too_large_quickly(void) {
    double started = check_now();
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{}");
    char key[32], value[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "property-%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        if (IoTHubMessage_SetProperty(m, key, value) != IOTHUB_MESSAGE_OK) {
            CHECK_MSG(false, "SetProperty %d failed", i);
            break;
        }
    }
    CHECK_STR(IoTHubMessage_GetProperty(m, "property-99999"), "value-99999");
    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, NULL, NULL), IOTHUB_CLIENT_INVALID_SIZE);
    CHECK_CONTAINS(iotsec_last_error_message(), "65535");
    CHECK_MSG(check_now() - started < check_timeout(FAST * 2), "took %.2f s", check_now() - started);
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
}

static void json_nested_a_hundred_thousand_levels_deep(void) {
    char *arrays = repeated("[", DEPTH, "]", DEPTH);
    char *objects = repeated("{\"a\":", DEPTH, "}", DEPTH);
    char *open_only = repeated("[", DEPTH, NULL, 0);
    const char *bodies[] = {arrays, objects, open_only};
    for (size_t i = 0; i < 3; i++) {
        double started = check_now();
        char *v = iotsec_validate((const uint8_t *)bodies[i], strlen(bodies[i]));
        CHECK_CONTAINS(v, "\"rule\":\"json\"");
        CHECK_CONTAINS(v, "recursion limit");
        iotsec_string_free(v);
        CHECK_EQ_INT(iotsec_is_valid((const uint8_t *)bodies[i], strlen(bodies[i])), 0);
        CHECK_MSG(check_now() - started < check_timeout(FAST), "took %.2f s", check_now() - started);
    }
    /* As a security message (100,000 `[` fit in the 256 KiB limit). */
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString(open_only);
    IoTHubMessage_SetAsSecurityMessage(m);
    IOTHUB_DEVICE_CLIENT_HANDLE c = offline_client();
    CHECK_EQ_INT(IoTHubDeviceClient_SendEventAsync(c, m, NULL, NULL), IOTHUB_CLIENT_ERROR);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_SCHEMA_VALIDATION);
    CHECK_CONTAINS(iotsec_last_error_violations_json(), "\"rule\":\"json\"");
    IoTHubDeviceClient_Destroy(c);
    IoTHubMessage_Destroy(m);
    /* Through the builder: the events JSON is refused by name. */
    char *events = repeated("[", DEPTH, "]", DEPTH);
    CHECK(iotsec_security_message_build("e89dc5f5-feac-4c3e-87e2-93c16f010c25", "1.0", events) == NULL);
    CHECK_EQ_INT(iotsec_last_error_kind(), IOTSEC_ERROR_INVALID_ARGUMENT);
    CHECK_CONTAINS(iotsec_last_error_message(), "events_json");
    free(events);
    free(arrays);
    free(objects);
    free(open_only);
}

int main(void) {
    RUN(null_arguments_and_impossible_sizes);
    RUN(handles_of_the_wrong_kind_and_use_after_destroy);
    RUN(text_that_is_not_utf8);
    RUN(ten_megabyte_bodies_are_too_large_at_once);
    RUN(a_hundred_thousand_properties_are_too_large_quickly);
    RUN(json_nested_a_hundred_thousand_levels_deep);
    iotsec_shutdown();
    return check_summary("test_hostile");
}
