"""A Kombu SimpleQueue peer of a kelp simple.Queue.

usage: kombu_simple.py URL NAME put N
       kombu_simple.py URL NAME get N
put: puts {"from": "python", "n": i} for i in 0..N-1.
get: gets N messages (acking each) and prints their bodies as one JSON line.
A global_keyprefix query option of URL becomes Kombu's transport option.
"""
import json
import sys
from urllib.parse import parse_qsl

from kombu import Connection

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
name, mode, n = sys.argv[2], sys.argv[3], int(sys.argv[4])

with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
    with conn.SimpleQueue(name) as queue:
        if mode == 'put':
            for i in range(n):
                queue.put({'from': 'python', 'n': i}, serializer='json')
        else:
            got = []
            for _ in range(n):
                message = queue.get(block=True, timeout=20)
                got.append(message.payload)
                message.ack()
            print(json.dumps(got))
