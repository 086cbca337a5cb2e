package io.iotsec.device;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A broker that accepts MQTT connections on 127.0.0.1 (plain TCP), answers CONNECT with CONNACK
 * and then never acknowledges a PUBLISH: the real socket peer needed to test what happens to
 * sends still waiting for their PUBACK (close, timeout). Not a mock of iotsec: the client runs
 * its real network path against it.
 */
final class FakeBroker implements Closeable {
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final AtomicInteger connects = new AtomicInteger();
    final AtomicInteger publishes = new AtomicInteger();

    FakeBroker() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "fake-broker");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    String connectionString(String device) {
        return "HostName=127.0.0.1;DeviceId=" + device + ";SharedAccessKey=" + TestEnv.KEY;
    }

    ClientOptions.Builder options() {
        return ClientOptions.builder().plainTcpLoopbackOnly(true).port(port());
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "fake-broker-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            while (true) {
                int header = in.read();
                if (header < 0) {
                    return;
                }
                int length = 0;
                int shift = 0;
                int b;
                do {
                    b = in.read();
                    if (b < 0) {
                        return;
                    }
                    length |= (b & 0x7f) << shift;
                    shift += 7;
                } while ((b & 0x80) != 0);
                in.readNBytes(length);
                int type = header >> 4;
                if (type == 1) {
                    connects.incrementAndGet();
                    out.write(new byte[] {0x20, 0x02, 0x00, 0x00});
                    out.flush();
                } else if (type == 3) {
                    publishes.incrementAndGet();
                } else if (type == 12) {
                    out.write(new byte[] {(byte) 0xd0, 0x00});
                    out.flush();
                } else if (type == 14) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
