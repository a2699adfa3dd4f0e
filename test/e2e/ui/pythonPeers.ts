/** pyzmq peer programs the UI tests start (port in argv[1]). */

/** A PUB that binds, says "ready", then publishes [10001, n] 50 times a second for a minute. */
export const PUBLISHER = `
import sys, time, zmq
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
pub.bind('tcp://127.0.0.1:%s' % sys.argv[1])
print('ready', flush=True)
for i in range(3000):
    pub.send_multipart([b'10001', b'%d' % i])
    time.sleep(0.02)
`;

/** A SUB that connects, subscribes to everything and reads forever. */
export const SUBSCRIBER = `
import sys, zmq
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b'')
sub.connect('tcp://127.0.0.1:%s' % sys.argv[1])
while True:
    sub.recv_multipart()
`;
