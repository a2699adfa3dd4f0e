import zmq
ctx = zmq.Context()
for i in range(1500):
    s = ctx.socket(zmq.PUSH)
    s.bind("tcp://127.0.0.1:*")
    s.close()
print("done", i + 1)
