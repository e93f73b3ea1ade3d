"""A Kombu RPC server answering kelp calls with kombu.common.send_reply.

usage: kombu_rpc_server.py URL QUEUE N
Declares QUEUE (durable, on the default exchange), prints "ready", answers N
requests with the sum of the numbers they carry, then exits.
"""
import sys

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import send_reply

url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
served = 0

with Connection(url) as conn:
    ch = conn.channel()
    producer = Producer(ch)

    def on_request(body, message):
        global served
        send_reply(Exchange(''), message, {'sum': sum(body), 'type': message.content_type}, producer)
        message.ack()
        served += 1

    with Consumer(ch, [Queue(name)], callbacks=[on_request], accept=['json', 'msgpack']):
        print('ready', flush=True)
        while served < n:
            conn.drain_events(timeout=20)
