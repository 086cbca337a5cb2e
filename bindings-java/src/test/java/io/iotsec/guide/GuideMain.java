package io.iotsec.guide;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs the guide's method in a JVM of its own, so the environment (IOTSEC_CA_FILE,
 * IOTSEC_MQTT_PORT) can point it at another broker: {@code GuideMain CONNECTION_STRING BODY_FILE}.
 * Prints {@code outcome STATUS CONTEXT THREAD}; exits 0 when the status is OK.
 */
public final class GuideMain {
    private GuideMain() {
    }

    public static void main(String[] args) throws Exception {
        GuideSnippet.connectionString = args[0];
        String message = Files.readString(Path.of(args[1]), StandardCharsets.UTF_8);
        new GuideSnippet().SendSecurityMessage(message);
        Object[] outcome = EventCallback.next(30);
        if (outcome == null) {
            System.out.println("outcome none");
            System.exit(2);
        }
        System.out.println("outcome " + outcome[0] + " " + outcome[1] + " " + outcome[2]);
        System.exit("OK".equals(String.valueOf(outcome[0])) ? 0 : 1);
    }
}
