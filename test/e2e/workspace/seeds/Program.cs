// NetMQ publisher and subscriber in C#.
using System;
using NetMQ;
using NetMQ.Sockets;

class Program
{
    const int Port = 5566;

    static void Main(string[] args)
    {
        using (var pubSocket = new PublisherSocket("@tcp://*:5565"))
        using (var subSocket = new SubscriberSocket())
        using (var dealer = new DealerSocket(">tcp://localhost:5567"))
        {
            subSocket.Connect($"tcp://localhost:{Port}");
            subSocket.Subscribe("A");
            var verbatim = new RouterSocket();
            verbatim.Bind(@"tcp://*:5568");
            Console.WriteLine(subSocket.ReceiveFrameString());
        }
    }
}
