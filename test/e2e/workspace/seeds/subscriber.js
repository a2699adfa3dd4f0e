/* zeromq.js v5 (legacy API) subscriber: string concatenation.
   sock.connect('tcp://127.0.0.1:9101') in a block comment is not code. */
const zmq = require('zeromq');

const host = 'localhost';
const PORT = '5556';
const sock = zmq.socket('sub');

sock.connect('tcp://' + host + ':' + PORT);
sock.subscribe('kitty cats');
sock.on('message', (topic, message) => {
  console.log('received a message related to:', topic.toString(), 'containing message:', message.toString());
});
