# A PUB that publishes structured payloads: msgpack, protobuf, CBOR or JSON, with a topic frame.
# argv: port, kind (msgpack|protobuf|cbor|json). Prints "bound", then publishes until killed.
import sys, time, json
import zmq

port, kind = sys.argv[1], sys.argv[2]


def protobuf_classes():
    # No protoc needed: the same schema as test/unit/fixtures/decoders/demo.proto, built as a descriptor.
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name='demo.proto', package='demo', syntax='proto3')
    r = fdp.message_type.add(name='Reading')
    r.field.add(name='sensor', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    r.field.add(name='value', number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    r.field.add(name='ts_us', number=3, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    r.field.add(name='tags', number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    r.field.add(name='unit', number=5, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL, type_name='.demo.Unit')
    e = fdp.enum_type.add(name='Unit')
    for i, n in enumerate(['UNIT_UNKNOWN', 'CELSIUS', 'PASCAL']):
        e.value.add(name=n, number=i)
    a = fdp.message_type.add(name='Alarm')
    a.field.add(name='sensor', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    a.field.add(name='text', number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    factory = message_factory.MessageFactory(pool)
    return factory.GetPrototype(pool.FindMessageTypeByName('demo.Reading')), factory.GetPrototype(pool.FindMessageTypeByName('demo.Alarm'))


def payloads(i):
    if kind == 'msgpack':
        import msgpack
        return [(b'reading', msgpack.packb({'sensor': 't1', 'value': 20.5 + i, 'seq': i, 'big': 2**40 + i, 'raw': b'\x00\xff', 'tags': ['a', 'b']}))]
    if kind == 'protobuf':
        Reading, Alarm = protobuf_classes()
        return [
            (b'reading', Reading(sensor='t1', value=20.5 + i, ts_us=1700000000000000 + i, tags=['a', 'b'], unit=1).SerializeToString()),
            (b'alarm', Alarm(sensor='t1', text='too hot %d' % i).SerializeToString()),
        ]
    if kind == 'cbor':
        import cbor2, datetime
        when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        body = {'sensor': 't1', 'value': 20.5 + i, 'seq': i, 'big': 2**70 + i, 'neg': -2**64 - i, 'raw': b'\x00\xff', 'tags': ['a', 'b'], 'when': when, 'ok': True, 'none': None, 7: 'seven'}
        return [(b'reading', cbor2.dumps(body))]
    return [(b'reading', json.dumps({'sensor': 't1', 'value': 20.5 + i, 'seq': i}).encode())]


ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.bind('tcp://127.0.0.1:' + port)
print('bound', flush=True)
i = 0
while True:
    for topic, body in payloads(i):
        s.send_multipart([topic, body])
    i += 1
    time.sleep(0.02)
