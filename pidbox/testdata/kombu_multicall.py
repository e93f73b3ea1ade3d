"""A Kombu Mailbox calling kelp nodes.

usage: kombu_multicall.py URL NAMESPACE LIMIT
Prints one JSON line: the replies of multi_call('ping', {'x': 5}), then of
call(['kelp1'], 'fail').
"""
import json
import sys

from kombu import Connection
from kombu.pidbox import Mailbox

url, ns, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Connection(url) as conn:
    mailbox = Mailbox(ns, type='fanout')(conn)
    pings = mailbox.multi_call('ping', {'x': 5}, timeout=10, limit=limit)
    fails = mailbox.call(['kelp1'], 'fail', timeout=10)
    print(json.dumps({'ping': pings, 'fail': fails, 'clock': mailbox.clock.value}))
