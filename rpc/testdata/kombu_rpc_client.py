"""A Kombu RPC client calling a kelp server, over RabbitMQ's direct reply-to.

usage: kombu_rpc_client.py URL QUEUE
Prints one JSON line: the list of [content_type, correlation_ok, body] per call.
"""
import json
import sys
import uuid

from kombu import Connection, Consumer, Producer, Queue

url, target = sys.argv[1], sys.argv[2]
calls = [([1, 2, 3], 'json'), ([40, 2], 'msgpack'), ([], 'json')]
results = {}

with Connection(url) as conn:
    ch = conn.channel()
    # Direct reply-to: consume no-ack on the pseudo-queue, from the channel
    # that publishes the requests. It must not be declared.
    reply_to = Queue('amq.rabbitmq.reply-to', channel=ch, no_ack=True)

    def on_reply(body, message):
        results[message.properties.get('correlation_id')] = [message.content_type, body]

    with Consumer(ch, [reply_to], callbacks=[on_reply], no_ack=True, auto_declare=False,
                  accept=['json', 'msgpack']):
        producer = Producer(ch)
        ids = []
        for nums, serializer in calls:
            cid = str(uuid.uuid4())
            ids.append(cid)
            producer.publish(nums, exchange='', routing_key=target, serializer=serializer,
                             reply_to='amq.rabbitmq.reply-to', correlation_id=cid)
        while len(results) < len(ids):
            conn.drain_events(timeout=20)
    print(json.dumps([results[cid] for cid in ids]))
