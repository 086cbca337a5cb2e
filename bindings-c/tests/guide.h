/*
 * The guide's C code (tests/guide/c.c, included unchanged) and what a test needs around it.
 *
 * The test supplies what the guide leaves to its reader: the IoTHubAdapter struct with its
 * moduleHandle and a forward declaration of SendConfirmCallback. To observe what the guide's
 * callback receives (the guide's callback only has comments where error handling would go),
 * the guide's call to IoTHubModuleClient_SendEventAsync goes through a pass-through shim: it
 * calls the real function with a wrapper callback, which calls the guide's own callback with
 * the guide's own context and result, then records that result in guide_outcomes.
 */
#ifndef IOTSEC_TEST_GUIDE_H
#define IOTSEC_TEST_GUIDE_H

#include "check.h"

/* What the guide leaves to the reader. */
typedef struct {
    IOTHUB_MODULE_CLIENT_HANDLE moduleHandle;
} IoTHubAdapter;
static void SendConfirmCallback(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *userContextCallback);

/* The observation shim: forwards to the real function with the guide's callback and context. */
static check_outcomes guide_outcomes;

typedef struct {
    IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK callback;
    void *context;
} forwarded_call;

static void observe_confirmation(IOTHUB_CLIENT_CONFIRMATION_RESULT result, void *shim_context) {
    forwarded_call *call = shim_context;
    bool guide_callback = call->callback == SendConfirmCallback && call->context != NULL;
    call->callback(result, call->context);
    check_outcomes_record(&guide_outcomes, (int)result, -1, guide_callback);
    free(call);
}

static IOTHUB_CLIENT_RESULT observed_SendEventAsync(IOTHUB_MODULE_CLIENT_HANDLE handle, IOTHUB_MESSAGE_HANDLE message,
                                                    IOTHUB_CLIENT_EVENT_CONFIRMATION_CALLBACK callback, void *context) {
    forwarded_call *call = malloc(sizeof *call);
    call->callback = callback;
    call->context = context;
    IOTHUB_CLIENT_RESULT r = IoTHubModuleClient_SendEventAsync(handle, message, observe_confirmation, call);
    if (r != IOTHUB_CLIENT_OK) free(call);
    return r;
}

#define IoTHubModuleClient_SendEventAsync observed_SendEventAsync
#include "../../tests/guide/c.c"
#undef IoTHubModuleClient_SendEventAsync

#endif
