"""Kombu pidbox nodes answering kelp calls.

usage: kombu_nodes.py URL NAMESPACE TYPE HOSTNAME...
TYPE is the mailbox exchange type, fanout or direct.
Listens as each HOSTNAME, prints "ready", and serves until every node got
the cast 'shutdown' (or 20 s pass without a command).
A global_keyprefix query option of URL becomes Kombu's transport option.
"""
import socket
import sys
from urllib.parse import parse_qsl

from kombu import Connection
from kombu.pidbox import Mailbox

url, _, query = sys.argv[1].partition('?')
prefix = dict(parse_qsl(query)).get('global_keyprefix')
ns, kind, hostnames = sys.argv[2], sys.argv[3], sys.argv[4:]
running = set(hostnames)

with Connection(url, transport_options={'global_keyprefix': prefix} if prefix else {}) as conn:
    mailbox = Mailbox(ns, type=kind)(conn)
    consumers = []
    for hostname in hostnames:
        def ping(state, x=0, hostname=hostname):
            return {'pong': hostname, 'x': x}

        def boom(state, hostname=hostname):
            raise ValueError('boom')

        def shutdown(state, hostname=hostname):
            running.discard(hostname)

        node = mailbox.Node(hostname, channel=conn.channel(),
                            handlers={'ping': ping, 'boom': boom, 'shutdown': shutdown})
        consumers.append(node.listen())
    try:  # a first poll subscribes the nodes now (Redis fanout is PUB/SUB)
        conn.drain_events(timeout=0.5)
    except socket.timeout:
        pass
    print('ready', flush=True)
    while running:
        conn.drain_events(timeout=20)
