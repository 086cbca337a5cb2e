// The guide's Java snippet uses a class EventCallback that it leaves to the reader: this one
// records the status each send completes with, for Driver to report.

import io.iotsec.device.IotHubEventCallback;
import io.iotsec.device.IotHubStatusCode;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

public class EventCallback implements IotHubEventCallback {
    static final BlockingQueue<String> OUTCOMES = new LinkedBlockingQueue<>();

    @Override
    public void execute(IotHubStatusCode responseStatus, Object callbackContext) {
        OUTCOMES.add("<user_context>".equals(callbackContext) ? responseStatus.name() : "WRONG_CONTEXT " + callbackContext);
    }
}
