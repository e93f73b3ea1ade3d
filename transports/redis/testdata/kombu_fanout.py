"""Fanout over Kombu's Redis PUB/SUB, for the Go interop test.

Usage:
  kombu_fanout.py URL PREFIX publish EXCHANGE
      Declares the fanout exchange and publishes, in order: json
      {"kind": "fanout"} with routing key "", then text "with key" with
      routing key "some.key" (channel <exchange>/some.key under Kombu's
      default fanout_patterns).
  kombu_fanout.py URL PREFIX consume EXCHANGE QUEUE COUNT
      Binds QUEUE to the fanout exchange with an empty key, subscribes,
      prints "ready" once the PSUBSCRIBE is live, then prints one JSON
      line per message ({"payload", "content_type", "exchange",
      "routing_key"}), acking each, until COUNT arrived.
"""
import json
import socket
import sys

import kombu

url, prefix, mode, exchange_name = sys.argv[1:5]
opts = {'global_keyprefix': prefix}
with kombu.Connection(url, transport_options=opts, connect_timeout=5) as conn:
    exchange = kombu.Exchange(exchange_name, type='fanout', durable=False)
    if mode == 'publish':
        producer = conn.Producer(serializer=None)
        producer.publish({'kind': 'fanout'}, serializer='json', exchange=exchange,
                         routing_key='', declare=[exchange], retry=False)
        producer.publish('with key', exchange=exchange, routing_key='some.key',
                         declare=[], retry=False)
        sys.exit(0)
    queue, count = sys.argv[5], int(sys.argv[6])
    got = []

    def on_message(body, message):
        got.append({'payload': message.decode(), 'content_type': message.content_type,
                    'exchange': message.delivery_info.get('exchange'),
                    'routing_key': message.delivery_info.get('routing_key')})
        message.ack()

    q = kombu.Queue(queue, exchange=exchange, routing_key='', auto_delete=True)
    with conn.Consumer(q, callbacks=[on_message], accept=['json', 'text/plain']):
        # Kombu sends PSUBSCRIBE from its first poll and reads the
        # confirmation in the next: poll until nothing is left to read.
        for _ in range(3):
            try:
                conn.drain_events(timeout=0.3)
            except socket.timeout:
                pass
        print('ready', flush=True)
        while len(got) < count:
            conn.drain_events(timeout=10)
for g in got:
    print(json.dumps(g))
