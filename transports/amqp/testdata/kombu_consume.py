"""Consume N messages with Kombu and print what it decoded, as JSON.

Usage: kombu_consume.py URL QUEUE N

Prints one JSON array with an object per message: the decoded body (bytes
as {"__bytes__": base64}), content type and encoding, headers and the basic
properties Kombu saw. Exits non-zero when the messages do not all arrive
within 10 seconds.
"""
import base64
import datetime
import json
import sys

import kombu

url, queue, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def plain(v):
    """Make v JSON-friendly without losing what type it was."""
    if isinstance(v, bytes):
        return {'__bytes__': base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime):
        return {'__time__': int(v.timestamp())}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


out = []


def on_message(body, message):
    props = message.properties
    out.append({
        'body': plain(body),
        'content_type': message.content_type,
        'content_encoding': message.content_encoding,
        'headers': plain(message.headers),
        'delivery_mode': props.get('delivery_mode'),
        'priority': props.get('priority'),
        'correlation_id': props.get('correlation_id'),
        'message_id': props.get('message_id'),
        'app_id': props.get('app_id'),
        'routing_key': message.delivery_info.get('routing_key'),
    })
    message.ack()


with kombu.Connection(url, connect_timeout=5) as conn:
    q = kombu.Queue(queue, routing_key=queue, no_declare=True)
    accept = ['json', 'text/plain', 'application/data']
    with conn.Consumer(q, callbacks=[on_message], accept=accept):
        while len(out) < n:
            conn.drain_events(timeout=10)
print(json.dumps(out))
