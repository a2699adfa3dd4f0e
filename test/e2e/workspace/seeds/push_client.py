# Seed: "Simple, Non-blocking, Push/Pull Example with ZeroMQ" (client), Python 3.
import zmq

context = zmq.Context()

# Socket to send messages on
sender = context.socket(zmq.PUSH)
sender.bind("tcp://*:5559")

for i in range(3):
    print('sending {}'.format(i))
    sender.send_string(str(i))
