import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local, listening on 127.0.0.1 only. Its own main (ServerRunner) builds an embedded Jetty with
 * `new Server(port)`, which listens on every interface, and it takes no bind-address option. This runs the same
 * ServerRunner with the same arguments, then sets the host of Jetty's connector to 127.0.0.1 before it starts.
 * Compiled once by local/dynamodb-local.ts (javac, from a JDK); without a compiler, DynamoDB Local runs as
 * shipped, on all interfaces, and local mode says so.
 */
public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    if (proxy == null) return; // -help or -version: printed, nothing to run
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    proxy.start();
    proxy.join();
  }
}
