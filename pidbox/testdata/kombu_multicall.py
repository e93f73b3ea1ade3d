"""A Kombu Mailbox calling kelp nodes.

usage: kombu_multicall.py URL NAMESPACE LIMIT TYPE
TYPE is the mailbox exchange type, fanout or direct.
Prints one JSON line: the replies of multi_call('ping', {'x': 5}), then of
call(['kelp1'], 'fail').
A global_keyprefix query option of URL becomes Kombu's transport option.
"""
import json
import sys
from urllib.parse import parse_qsl

from kombu import Connection
from kombu.pidbox import Mailbox

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
ns, limit, kind = sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
    mailbox = Mailbox(ns, type=kind)(conn)
    pings = mailbox.multi_call('ping', {'x': 5}, timeout=10, limit=limit)
    fails = mailbox.call(['kelp1'], 'fail', timeout=10)
    print(json.dumps({'ping': pings, 'fail': fails, 'clock': mailbox.clock.value}))
