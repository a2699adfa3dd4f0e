# Seed: "Learning ØMQ", Request/Reply (reqrep_client.py), Python 3.
# port1 has no literal anywhere: its connect is not reported (no guessing).
import zmq
import sys

port = "5556"
if len(sys.argv) > 1:
    port = sys.argv[1]
    int(port)

if len(sys.argv) > 2:
    port1 = sys.argv[2]
    int(port1)

context = zmq.Context()
print("Connecting to server...")
socket = context.socket(zmq.REQ)
socket.connect ("tcp://localhost:%s" % port)
if len(sys.argv) > 2:
    socket.connect ("tcp://localhost:%s" % port1)

#  Do 10 requests, waiting each time for a response
for request in range(1, 10):
    print("Sending request ", request, "...")
    socket.send_string("Hello")
    #  Get the reply.
    message = socket.recv()
    print("Received reply ", request, "[", message, "]")
