package driftbeat.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A real single-node OpenSearch for driftbeat's tests and for trying driftbeat by hand.
 *
 * <p>It is the OpenSearch 2.19 engine itself (the jars the distribution ships), started in this JVM
 * with the plugins driftbeat relies on given as classpath plugins. Started this way no bootstrap
 * checks and no security manager run, which is what a throwaway local engine wants.
 *
 * <p>Contract with the scripts that start it (test/support/engine.ts, npm run engine):
 * <ul>
 *   <li>stdout carries exactly one line, {@code READY http://127.0.0.1:<port>}, once the cluster is
 *       yellow; everything else (the engine's own log) goes to stderr;</li>
 *   <li>SIGTERM (or SIGINT) closes the node and removes its temporary data folder;</li>
 *   <li>with {@code --exit-on-stdin-close} it also stops when its stdin closes, so an engine whose
 *       parent test process died cannot outlive it.</li>
 * </ul>
 *
 * <p>Options: {@code --port N} (default 0: a free port), {@code --data DIR} (default: a temporary
 * folder, deleted at exit), {@code --exit-on-stdin-close}. The heap is the launcher's choice
 * ({@code -Xmx512m} in package.json).
 */
public final class TestEngine {

    /** The node, with the plugins a distribution would load from its modules/ folder. */
    static final class EngineNode extends Node {
        EngineNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,          // HTTP
        PainlessPlugin.class,        // scripts, _scripts/painless/_execute
        CommonAnalysisPlugin.class,  // analyzers and token filters beyond standard
        MapperExtrasPlugin.class,    // scaled_float, token_count, ...
        ReindexPlugin.class          // _reindex, _update_by_query, _delete_by_query
    );

    public static void main(String[] args) throws Exception {
        int port = 0;
        Path data = null;
        boolean exitOnStdinClose = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--exit-on-stdin-close" -> exitOnStdinClose = true;
                default -> {
                    System.err.println("test engine: unknown option " + args[i]
                        + " (known: --port N, --data DIR, --exit-on-stdin-close)");
                    System.exit(2);
                }
            }
        }

        final Path home = Files.createTempDirectory("driftbeat-engine-");
        final boolean ownData = data == null;
        final Path dataPath = ownData ? home.resolve("data") : data;
        Files.createDirectories(home.resolve("config"));

        Settings settings = Settings.builder()
            .put("cluster.name", "driftbeat-test")
            .put("node.name", "engine")
            .put("path.home", home.toString())
            .put("path.data", dataPath.toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", port == 0 ? "0" : Integer.toString(port))
            .put("transport.port", "0")
            .put("discovery.type", "single-node")
            // A test machine's disk is often more than 90% full; the engine must not go read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.store.allow_mmap", true)
            // The parent circuit breaker counts the real heap by default, garbage included; with the
            // small heap and SerialGC of a test engine it answered 429 circuit_breaking_exception to
            // ordinary requests on a loaded machine (seen: 362 trips in one run). Tracked reservations
            // (request, fielddata, in-flight) still trip it; 429 handling is tested by the fault proxy.
            .put("indices.breaker.total.use_real_memory", false)
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), home.resolve("config"), () -> "engine");
        final Node node = new EngineNode(environment, PLUGINS);

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("test engine: error while closing: " + e);
            } finally {
                deleteQuietly(ownData ? home : home); // home always; --data is the caller's
            }
        }, "engine-shutdown"));

        if (exitOnStdinClose) {
            Thread watcher = new Thread(() -> {
                try (InputStream in = System.in) {
                    byte[] buf = new byte[256];
                    while (in.read(buf) >= 0) { /* keep reading until EOF */ }
                } catch (IOException ignored) {
                    // a broken stdin means the parent is gone, as EOF does
                }
                System.err.println("test engine: stdin closed, stopping");
                System.exit(0);
            }, "stdin-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }
        long started = System.nanoTime();
        node.start();
        node.client().admin().cluster().prepareHealth()
            .setWaitForYellowStatus()
            .setTimeout(org.opensearch.common.unit.TimeValue.timeValueSeconds(60))
            .get();
        int bound = node.injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress().getPort();
        System.err.printf("test engine: OpenSearch %s up in %d ms, data in %s%n",
            org.opensearch.Version.CURRENT, (System.nanoTime() - started) / 1_000_000, dataPath);
        System.out.println("READY http://127.0.0.1:" + bound);
        System.out.flush();

        Thread.currentThread().join(); // until SIGTERM runs the shutdown hook
    }

    static void deleteQuietly(Path root) {
        try {
            if (!Files.exists(root)) return;
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("test engine: could not remove " + root + ": " + e);
        }
    }

    private TestEngine() {}
}
