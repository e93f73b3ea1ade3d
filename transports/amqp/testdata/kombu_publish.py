"""Publish four messages the way Kombu does, for the Go interop test.

Usage: kombu_publish.py URL QUEUE

The queue exists already (the Go test declared it); messages go through the
default exchange. Prints nothing on success.
"""
import sys

import kombu

url, queue = sys.argv[1], sys.argv[2]
with kombu.Connection(url, connect_timeout=5) as conn:
    producer = conn.Producer(serializer=None)
    common = dict(exchange='', routing_key=queue, declare=[], retry=False)
    producer.publish(
        {'kind': 'json', 'n': 42, 'f': 2.5, 's': 'h\u00e9llo',
         'list': [1, 'two', None, True], 'nested': {'k': 'v'}},
        serializer='json',
        headers={'h-str': 'v', 'h-int': 7, 'h-list': [1, 'a'], 'h-table': {'x': 1.5}},
        priority=3, correlation_id='corr-1', message_id='id-1', app_id='kombu-test',
        **common)
    producer.publish('plain text \u2713', **common)
    producer.publish(b'\x00\x01raw\xff', **common)
    producer.publish({'kind': 'zlib', 'data': 'x' * 2000}, serializer='json',
                     compression='zlib', **common)
