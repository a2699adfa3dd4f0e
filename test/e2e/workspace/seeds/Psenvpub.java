// Pub-sub envelope publisher in Java (JeroMQ).
import org.zeromq.SocketType;
import org.zeromq.ZMQ;
import org.zeromq.ZContext;

public class Psenvpub
{
    private static final int PORT = 5563;

    public static void main(String[] args) throws Exception
    {
        try (ZContext context = new ZContext()) {
            ZMQ.Socket publisher = context.createSocket(SocketType.PUB);
            publisher.bind("tcp://*:" + PORT);

            ZMQ.Socket collector = context.createSocket(SocketType.PULL);
            collector.bind(String.format("tcp://*:%d", 5564));

            while (!Thread.currentThread().isInterrupted()) {
                publisher.sendMore("A");
                publisher.send("We don't want to see this");
            }
        }
    }
}
