package io.iotsec.guide;

import io.iotsec.device.IotHubEventCallback;
import io.iotsec.device.IotHubStatusCode;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The user class the guide's snippet instantiates; it records every outcome for the tests. */
public class EventCallback implements IotHubEventCallback {
    /** One entry per call: status, context, thread name. */
    public static final BlockingQueue<Object[]> OUTCOMES = new LinkedBlockingQueue<>();

    @Override
    public void execute(IotHubStatusCode responseStatus, Object callbackContext) {
        OUTCOMES.add(new Object[] {responseStatus, callbackContext, Thread.currentThread().getName()});
    }

    /** The next outcome, waiting up to {@code seconds}; null if none came. */
    public static Object[] next(int seconds) throws InterruptedException {
        return OUTCOMES.poll(seconds, TimeUnit.SECONDS);
    }
}
