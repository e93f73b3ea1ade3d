"""Kombu pidbox nodes answering kelp calls.

usage: kombu_nodes.py URL NAMESPACE HOSTNAME...
Listens as each HOSTNAME, prints "ready", and serves until every node got
the cast 'shutdown' (or 20 s pass without a command).
"""
import sys

from kombu import Connection
from kombu.pidbox import Mailbox

url, ns, hostnames = sys.argv[1], sys.argv[2], sys.argv[3:]
running = set(hostnames)

with Connection(url) as conn:
    mailbox = Mailbox(ns, type='fanout')(conn)
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
    print('ready', flush=True)
    while running:
        conn.drain_events(timeout=20)
