package io.iotsec.device;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the native library that travels inside the JAR ({@code native/<os>-<arch>/}): copies it
 * to a temporary file and {@code System.load}s it, so no {@code -Djava.library.path} is needed.
 * The system property {@code iotsec.native.library} may name a library file to load instead.
 */
final class NativeLoader {
    static final String LIBRARY = "iotsec_jni";
    private static boolean loaded;

    private NativeLoader() {
    }

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String override = System.getProperty("iotsec.native.library");
        if (override != null && !override.isEmpty()) {
            System.load(Path.of(override).toAbsolutePath().toString());
            loaded = true;
            return;
        }
        String file = System.mapLibraryName(LIBRARY);
        String resource = "/native/" + platform() + "/" + file;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                try {
                    System.loadLibrary(LIBRARY);
                } catch (UnsatisfiedLinkError e) {
                    UnsatisfiedLinkError error = new UnsatisfiedLinkError("iotsec: this JAR has no native library for "
                            + platform() + " (" + resource + ") and java.library.path has no " + file);
                    error.initCause(e);
                    throw error;
                }
                loaded = true;
                return;
            }
            int dot = file.lastIndexOf('.');
            Path temp = Files.createTempFile(file.substring(0, dot) + "-", file.substring(dot));
            try {
                Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
                System.load(temp.toAbsolutePath().toString());
            } finally {
                // Linux and macOS keep a loaded library mapped after its file is deleted.
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    temp.toFile().deleteOnExit();
                }
            }
            loaded = true;
        } catch (IOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("iotsec: cannot extract the native library: " + e.getMessage());
            error.initCause(e);
            throw error;
        }
    }

    /** {@code linux-x86_64}, {@code macos-aarch64}, {@code windows-x86_64}, ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("windows") ? "windows" : os.replace(' ', '_');
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }
}
