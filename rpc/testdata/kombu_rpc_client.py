"""A Kombu RPC client calling a kelp server.

usage: kombu_rpc_client.py URL QUEUE
On RabbitMQ it uses direct reply-to; elsewhere (Redis) a reply queue of its
own. A global_keyprefix query option of URL becomes Kombu's transport option.
Prints one JSON line: the list of [content_type, body] per call.
"""
import json
import sys
import uuid
from urllib.parse import parse_qsl

from kombu import Connection, Consumer, Producer, Queue

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
target = sys.argv[2]
calls = [([1, 2, 3], 'json'), ([40, 2], 'msgpack'), ([], 'json')]
results = {}

with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
    ch = conn.channel()
    if conn.transport.driver_type == 'amqp':
        # Direct reply-to: consume no-ack on the pseudo-queue, from the
        # channel that publishes the requests. It must not be declared.
        reply_to = 'amq.rabbitmq.reply-to'
        reply_queue = Queue(reply_to, channel=ch, no_ack=True)
        declare = False
    else:
        reply_to = 'py.rpc.reply.' + str(uuid.uuid4())
        reply_queue = Queue(reply_to, channel=ch, exclusive=True, auto_delete=True)
        declare = True

    def on_reply(body, message):
        results[message.properties.get('correlation_id')] = [message.content_type, body]

    with Consumer(ch, [reply_queue], callbacks=[on_reply], no_ack=True, auto_declare=declare,
                  accept=['json', 'msgpack']):
        producer = Producer(ch)
        ids = []
        for nums, serializer in calls:
            cid = str(uuid.uuid4())
            ids.append(cid)
            producer.publish(nums, exchange='', routing_key=target, serializer=serializer,
                             reply_to=reply_to, correlation_id=cid)
        while len(results) < len(ids):
            conn.drain_events(timeout=20)
    if declare:
        reply_queue.delete()
    print(json.dumps([results[cid] for cid in ids]))
