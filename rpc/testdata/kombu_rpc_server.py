"""A Kombu RPC server answering kelp calls with kombu.common.send_reply.

usage: kombu_rpc_server.py URL QUEUE N
Declares QUEUE (durable, on the default exchange), prints "ready", answers N
requests with the sum of the numbers they carry, then exits. A
global_keyprefix query option of URL becomes Kombu's transport option.
"""
import sys
from urllib.parse import parse_qsl

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import send_reply

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
name, n = sys.argv[2], int(sys.argv[3])
served = 0

with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
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
