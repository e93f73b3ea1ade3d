"""Consume and acknowledge messages the way Kombu does, for the Go interop
test.

Usage: kombu_consume.py URL PREFIX QUEUE COUNT

Prints one JSON line per message, in the order received:
{"payload": decoded body (bytes as latin-1 text), "content_type",
 "headers", "priority", "exchange", "routing_key"}.
"""
import json
import sys

import kombu

url, prefix, queue, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
opts = {'global_keyprefix': prefix}
got = []


def on_message(body, message):
    payload = message.decode()
    if isinstance(payload, bytes):
        payload = payload.decode('latin-1')
    got.append({'payload': payload, 'content_type': message.content_type,
                'headers': message.headers, 'priority': message.properties.get('priority'),
                'exchange': message.delivery_info.get('exchange'),
                'routing_key': message.delivery_info.get('routing_key')})
    message.ack()


with kombu.Connection(url, transport_options=opts, connect_timeout=5) as conn:
    with conn.Consumer(kombu.Queue(queue, no_declare=True), callbacks=[on_message],
                       accept=['json', 'text/plain', 'application/data']):
        while len(got) < count:
            conn.drain_events(timeout=10)
for g in got:
    print(json.dumps(g))
