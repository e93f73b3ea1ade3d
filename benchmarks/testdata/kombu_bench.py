"""The Python Kombu peer of kelp's benchmark harness (package benchmarks).

Usage: python3 kombu_bench.py '<json>' where the JSON object holds
url, queue, scenario ("publish" or "consume"), messages, size, prefetch
and confirm. The queue exists already (and, for consume, holds the
messages). It prints one JSON object: {"msg_per_sec": ..., "kombu": version}.
"""
import json
import socket
import sys
import time

import kombu
from kombu import Connection, Consumer, Producer, Queue


def main():
    a = json.loads(sys.argv[1])
    options = {}
    if a["url"].startswith("amqp") and a.get("confirm"):
        options["confirm_publish"] = True
    n = a["messages"]
    with Connection(a["url"], transport_options=options) as conn:
        conn.connect()
        if a["scenario"] == "publish":
            body = b"k" * a["size"]
            producer = Producer(conn.channel())
            start = time.perf_counter()
            for _ in range(n):
                producer.publish(body, routing_key=a["queue"], exchange="",
                                 content_type="application/data",
                                 content_encoding="binary", delivery_mode=1)
            elapsed = time.perf_counter() - start
        elif a["scenario"] == "consume":
            got = [0]

            def on_message(body, message):
                message.ack()
                got[0] += 1

            queue = Queue(a["queue"], no_declare=True)
            ch = conn.channel()
            start = time.perf_counter()
            with Consumer(ch, queues=[queue], callbacks=[on_message],
                          prefetch_count=a["prefetch"],
                          accept=["application/data"]):
                deadline = time.monotonic() + 120
                while got[0] < n and time.monotonic() < deadline:
                    try:
                        conn.drain_events(timeout=1)
                    except socket.timeout:
                        pass
            elapsed = time.perf_counter() - start
            if got[0] < n:
                sys.exit("consumed %d of %d messages" % (got[0], n))
        else:
            sys.exit("unknown scenario %r" % a["scenario"])
    print(json.dumps({"msg_per_sec": n / elapsed, "kombu": kombu.__version__}))


if __name__ == "__main__":
    main()
