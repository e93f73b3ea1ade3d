"""A Kombu peer of a kelp broadcast (kombu.common.Broadcast).

usage: kombu_broadcast.py URL NAME subscribe N
       kombu_broadcast.py URL NAME publish N
subscribe: subscribes with a queue of its own ("bcast.<uuid>"), prints
"ready", then one JSON line: the bodies of the first N messages.
publish: publishes {"from": "python", "n": i} for i in 0..N-1.
A global_keyprefix query option of URL becomes Kombu's transport option.
"""
import json
import socket
import sys
from urllib.parse import parse_qsl

from kombu import Connection, Consumer, Producer
from kombu.common import Broadcast

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
name, mode, n = sys.argv[2], sys.argv[3], int(sys.argv[4])

with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
    queue = Broadcast(name)
    if mode == 'publish':
        producer = Producer(conn.default_channel)
        for i in range(n):
            producer.publish({'from': 'python', 'n': i}, exchange=queue.exchange,
                             declare=[queue.exchange], serializer='json')
        sys.exit(0)
    got = []

    def on_message(body, message):
        got.append(body)
        message.ack()

    with Consumer(conn, [queue], callbacks=[on_message], accept=['json']):
        try:  # a first poll subscribes now (Redis fanout is PUB/SUB)
            conn.drain_events(timeout=0.5)
        except socket.timeout:
            pass
        print('ready', flush=True)
        while len(got) < n:
            conn.drain_events(timeout=20)
    print(json.dumps(got))
