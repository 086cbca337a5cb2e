/*
 * The guide's C code against the local hub (iotsec hub): a real IoT Hub stand-in that checks
 * SAS signatures and stores what it receives. This program sends; check_hub_store.py then
 * asserts what the hub stored (security.jsonl, dropped.jsonl).
 *
 * Environment: IOTSEC_TEST_HUB_MODULE_CS (from `iotsec hub add-device ... --module ...`),
 * IOTSEC_TEST_HUB_CA_FILE, IOTSEC_TEST_HUB_PORT, IOTSEC_TEST_GUIDE_MESSAGE,
 * IOTSEC_TEST_GUIDE_MESSAGE_VALID.
 */
#include "guide.h"

static void record_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *context) {
    check_outcomes_record((check_outcomes *)context, (int)result, -1, context != NULL);
}

static void guide_code_sends_to_the_local_hub(void) {
    check_outcomes_init(&guide_outcomes);
    IoTHubAdapter adapter;
    adapter.moduleHandle = IoTHubModuleClient_CreateFromConnectionString(check_env("IOTSEC_TEST_HUB_MODULE_CS"), MQTT_Protocol);
    CHECK(adapter.moduleHandle != NULL);
    char *pem = check_read_file(check_env("IOTSEC_TEST_HUB_CA_FILE"), NULL);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(adapter.moduleHandle, "TrustedCerts", pem), IOTHUB_CLIENT_OK);
    free(pem);
    CHECK_EQ_INT(IoTHubModuleClient_SetOption(adapter.moduleHandle, "iotsec.port", check_env("IOTSEC_TEST_HUB_PORT")),
                 IOTHUB_CLIENT_OK);
    size_t len = 0;
    char *body = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE_VALID"), &len);
    CHECK(SendMessageAsync(&adapter, body, len));
    CHECK_EQ_INT(check_outcomes_wait(&guide_outcomes, 1, 20), 1);
    CHECK_EQ_INT(guide_outcomes.by_result[IOTHUB_CLIENT_CONFIRMATION_OK], 1);
    CHECK_EQ_INT(guide_outcomes.wrong_context, 0);
    IoTHubModuleClient_Destroy(adapter.moduleHandle);
    free(body);
    check_outcomes_free(&guide_outcomes);
}

/* With validation off the client sends the guide's invalid message; the hub keeps it apart. */
static void invalid_message_sent_with_validation_off(void) {
    IOTHUB_CLIENT_CORE_HANDLE c = iotsec_client_create(check_env("IOTSEC_TEST_HUB_MODULE_CS"), IOTSEC_CLIENT_MODULE);
    CHECK_EQ_INT(iotsec_client_set_option(c, "validation", "off"), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "ca_file", check_env("IOTSEC_TEST_HUB_CA_FILE")), IOTSEC_OK);
    CHECK_EQ_INT(iotsec_client_set_option(c, "port", check_env("IOTSEC_TEST_HUB_PORT")), IOTSEC_OK);
    size_t len = 0;
    char *body = check_read_file(check_env("IOTSEC_TEST_GUIDE_MESSAGE"), &len);
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromByteArray((const unsigned char *)body, len);
    IoTHubMessage_SetAsSecurityMessage(m);
    IoTHubMessage_SetMessageId(m, "c-invalid-1");
    CHECK_EQ_INT(iotsec_client_send(c, m), IOTSEC_OK);
    IoTHubMessage_Destroy(m);
    iotsec_client_destroy(c);
    free(body);
}

/* The hub checks SAS signatures: a connection string with another key is refused. */
static void wrong_key_is_refused_by_the_hub(void) {
    static check_outcomes o;
    check_outcomes_init(&o);
    const char *cs = check_env("IOTSEC_TEST_HUB_MODULE_CS");
    char wrong[512];
    const char *key = strstr(cs, "SharedAccessKey=");
    CHECK(key != NULL);
    if (key == NULL) return;
    snprintf(wrong, sizeof wrong, "%.*sSharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", (int)(key - cs), cs);
    IOTHUB_MODULE_CLIENT_HANDLE c = IoTHubModuleClient_CreateFromConnectionString(wrong, MQTT_Protocol);
    IoTHubModuleClient_SetOption(c, "iotsec.ca_file", check_env("IOTSEC_TEST_HUB_CA_FILE"));
    IoTHubModuleClient_SetOption(c, "iotsec.port", check_env("IOTSEC_TEST_HUB_PORT"));
    IOTHUB_MESSAGE_HANDLE m = IoTHubMessage_CreateFromString("{\"not\":\"a security message\"}");
    CHECK_EQ_INT(IoTHubModuleClient_SendEventAsync(c, m, record_confirmation, &o), IOTHUB_CLIENT_OK);
    CHECK_EQ_INT(check_outcomes_wait(&o, 1, 20), 1);
    CHECK_EQ_INT(o.by_result[IOTHUB_CLIENT_CONFIRMATION_ERROR], 1);
    CHECK_EQ_INT(o.last_kind, IOTSEC_ERROR_CREDENTIAL_REFUSED);
    CHECK(strstr(o.last_text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == NULL);
    IoTHubModuleClient_Destroy(c);
    IoTHubMessage_Destroy(m);
}

int main(void) {
    RUN(guide_code_sends_to_the_local_hub);
    RUN(invalid_message_sent_with_validation_off);
    RUN(wrong_key_is_refused_by_the_hub);
    iotsec_shutdown();
    return check_summary("test_hub");
}
