# Seed: "Simple, Non-blocking, Push/Pull Example with ZeroMQ" (server), Python 3.
import time
import zmq

context = zmq.Context()

# Socket to receive messages on
receiver = context.socket(zmq.PULL)
receiver.connect("tcp://localhost:5559")


def print_value(s):
    time.sleep(2)
    print('value: {}'.format(s))


# Process tasks forever
while True:
    s = receiver.recv_string()
    print('received {}'.format(s))
    print_value(s)
