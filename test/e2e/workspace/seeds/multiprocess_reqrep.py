# Seed: "Learning ØMQ", Multiprocess & pyzmq, Python 3: the ports are default arguments and loop variables.
import zmq
import time
import sys
from multiprocessing import Process


def server(port="5556"):
    context = zmq.Context()
    socket = context.socket(zmq.REP)
    socket.bind("tcp://*:%s" % port)
    print("Running server on port: ", port)
    # serves only 5 request and dies
    for reqnum in range(5):
        # Wait for next request from client
        message = socket.recv()
        print("Received request #%s: %s" % (reqnum, message))
        socket.send_string("World from %s" % port)


def client(ports=["5556"]):
    context = zmq.Context()
    print("Connecting to server with ports %s" % ports)
    socket = context.socket(zmq.REQ)
    for port in ports:
        socket.connect("tcp://localhost:%s" % port)
    for request in range(20):
        print("Sending request ", request, "...")
        socket.send_string("Hello")
        message = socket.recv()
        print("Received reply ", request, "[", message, "]")
        time.sleep(1)


def backup_client(backup_port="5557"):
    context = zmq.Context()
    socket = context.socket(zmq.REQ)
    socket.connect("tcp://localhost:{}".format(backup_port))
    # several servers at once: a loop over more than one port is not guessed
    for port in ["5558", "5559"]:
        socket.connect("tcp://localhost:%s" % port)


if __name__ == "__main__":
    # Now we can run a few servers
    server_ports = range(5550, 5558, 2)
    for server_port in server_ports:
        Process(target=server, args=(server_port,)).start()

    # Now we can connect a client to all these servers
    Process(target=client, args=(server_ports,)).start()
