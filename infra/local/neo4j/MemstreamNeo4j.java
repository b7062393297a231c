// Local-development Neo4j for memstream: an embedded Neo4j 5.26 Community DBMS with Bolt on loopback.
//
// Run (Java 17 single-file source launch; infra/local/stack.py does this for you):
//   java -Xmx768m -cp '<data_dir>/jars/neo4j/*' infra/local/neo4j/MemstreamNeo4j.java <home> <bolt-port> <password>
//
// Auth is ENABLED. The built-in user `neo4j` gets <password> (memstream-local by default) with no forced
// change, so clients connect with basic auth neo4j/<password> (auth=None is rejected). The password is set
// through the system database right after start-up (ALTER USER; ~4 s of cold Cypher, so it is skipped when
// <home>/memstream-auth.sha256 already holds the password's hash). Until that is done the launcher has not
// written its ready marker (<home>/memstream-ready), which stack.py waits for before it opens a Bolt session.
// That avoids failed logins during start-up (Neo4j locks a user for a few seconds after 3 failures).
//
// Settings (names checked against neo4j-configuration 5.26.12):
//   server.bolt.enabled=true, server.bolt.listen_address=127.0.0.1:<port>   (BoltConnector)
//   server.memory.pagecache.size=128m      (GraphDatabaseSettings.pagecache_memory)
//   db.tx_log.preallocate=false            (GraphDatabaseSettings.preallocate_logical_logs)
//   dbms.usage_report.enabled=false        (GraphDatabaseSettings.udc_enabled)
//   dbms.security.auth_enabled=true        (GraphDatabaseSettings.auth_enabled)
//   internal.dbms.bolt.netty_server_shutdown_quiet_period=0  (GraphDatabaseInternalSettings; unsupported
//       internal setting: without it Netty idles 5 s after the databases are already checkpointed and closed)
// No HTTP connector: the embedded API does not start the web server.
// SIGTERM runs the shutdown hook, which shuts the DBMS down cleanly.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

public final class MemstreamNeo4j {
    private static final String READY_MARKER = "memstream-ready";
    private static final String AUTH_MARKER = "memstream-auth.sha256";

    private MemstreamNeo4j() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MemstreamNeo4j <home> <bolt-port> <password>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = args[2];
        Path marker = home.resolve(READY_MARKER);
        Files.createDirectories(home);
        Files.deleteIfExists(marker);

        long t0 = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(GraphDatabaseSettings.pagecache_memory, 128L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MemstreamNeo4j: shutting down");
            try {
                Files.deleteIfExists(marker);
            } catch (Exception ignored) {
                // best effort
            }
            dbms.shutdown();
            stopped.countDown();
            System.out.println("MemstreamNeo4j: stopped");
        }, "memstream-neo4j-shutdown"));

        setPassword(dbms, home.resolve(AUTH_MARKER), password);
        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(60_000)) {
            System.err.println("MemstreamNeo4j: default database did not become available");
            System.exit(1);
        }
        db.executeTransactionally("RETURN 1"); // warm the Cypher stack so the first client query is quick
        Files.writeString(marker, ProcessHandle.current().pid() + "\n");
        System.out.printf("MemstreamNeo4j ready: bolt://127.0.0.1:%d home=%s in %d ms%n",
                port, home, (System.nanoTime() - t0) / 1_000_000);
        System.out.flush();
        stopped.await();
    }

    private static void setPassword(DatabaseManagementService dbms, Path authMarker, String password)
            throws Exception {
        String digest = HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8)));
        if (Files.exists(authMarker) && Files.readString(authMarker).strip().equals(digest)) {
            return;
        }
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            // Re-setting the current password is refused; anything else is a real failure.
            String msg = String.valueOf(e.getMessage()).toLowerCase();
            if (!msg.contains("same")) {
                throw e;
            }
        }
        Files.writeString(authMarker, digest + "\n");
    }
}
