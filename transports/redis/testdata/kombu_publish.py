"""Publish messages the way Kombu does, for the Go interop test.

Usage: kombu_publish.py URL PREFIX

Declares (in Kombu's process-local way) the exchanges ix-direct (direct)
and ix-topic (topic), binds queue py-topic to ix-topic with "x.#", and
publishes:
  ix-direct / "rk": json (headers, priority 3), text, raw bytes, zlib json
  ix-topic / "a.b.c": json {"kind": "topic"}     (kelp bound "a.*.c")
  "" / "prio": priority 9 "low" then priority 0 "high"
Prints nothing on success.
"""
import sys

import kombu

url, prefix = sys.argv[1], sys.argv[2]
opts = {'global_keyprefix': prefix}
with kombu.Connection(url, transport_options=opts, connect_timeout=5) as conn:
    direct = kombu.Exchange('ix-direct', type='direct')
    topic = kombu.Exchange('ix-topic', type='topic')
    ch = conn.channel()
    kombu.Queue('py-topic', exchange=topic, routing_key='x.#')(ch).declare()
    producer = conn.Producer(serializer=None)
    common = dict(exchange=direct, routing_key='rk', declare=[direct], retry=False)
    producer.publish({'kind': 'json', 'n': 42, 's': 'h\u00e9llo'}, serializer='json',
                     headers={'h-str': 'v', 'h-int': 7}, priority=3,
                     correlation_id='corr-1', **common)
    producer.publish('plain text \u2713', **common)
    producer.publish(b'\x00\x01raw\xff', **common)
    producer.publish({'kind': 'zlib', 'data': 'x' * 2000}, serializer='json',
                     compression='zlib', **common)
    producer.publish({'kind': 'topic'}, serializer='json', exchange=topic,
                     routing_key='a.b.c', declare=[topic], retry=False)
    for body, prio in (('low', 9), ('high', 0)):
        producer.publish(body, exchange='', routing_key='prio', priority=prio,
                         declare=[], retry=False)
