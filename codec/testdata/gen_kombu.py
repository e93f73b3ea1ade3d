#!/usr/bin/python3
"""Regenerate the Kombu golden fixtures in testdata/kombu.

Needs Debian's python3-kombu (5.2.4), python3-msgpack, python3-brotli and
python3-zstandard. Bodies come from Kombu's own dumps() and compress();
the 5.3 JSON type markers are written the way Kombu 5.3's JSONEncoder
writes them, since 5.2.4 predates them. Output is deterministic.
"""
import base64, bz2, datetime, decimal, json, lzma, os, uuid, zlib

from kombu import compression, serialization

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kombu")
os.makedirs(HERE, exist_ok=True)
manifest = []


def emit(name, body, content_type, content_encoding, compress=None):
    header = ""
    if isinstance(body, str):
        body = body.encode(content_encoding)
    if compress:
        body, header = compression.compress(body, compress)
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(body)
    manifest.append({"name": name, "content_type": content_type,
                     "content_encoding": content_encoding, "compression": header})


task = {"task": "tasks.add", "args": [2, 3], "kwargs": {"x": 1.5, "s": "h\u00e9llo \u2603"},
        "big": 2**63 + 1, "neg": -129, "none": None, "ok": True}

for ser in ("json", "msgpack", "pickle", "yaml"):
    ct, enc, body = serialization.dumps(task, serializer=ser)
    emit("task_" + ser, body, ct, enc)

ct, enc, body = serialization.dumps(b"\x00\x01\xffraw", serializer=None)
emit("raw_bytes", body, ct, enc)
ct, enc, body = serialization.dumps("plain str \u00e9", serializer=None)
emit("plain_str", body, ct, enc)
ct, enc, body = serialization.dumps("raw str \u00e9", serializer="raw")
emit("raw_str", body, ct, enc)

# Compressed bodies: Kombu's compress() on a JSON body.
ct, enc, body = serialization.dumps({"payload": "kelp " * 200}, serializer="json")
for alias in ("zlib", "bzip2", "lzma", "brotli", "zstd"):
    emit("compressed_" + alias, body, ct, enc, compress=alias)
# What a Kombu peer would produce with the other names.
emit("compressed_gzip_alias", body, ct, enc, compress="gzip")

# Kombu >= 5.3 type markers (kombu/utils/json.py), written by hand.
def marker(t, v):
    return {"__type__": t, "__value__": v}

tz = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
markers = {
    "aware": marker("datetime", datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tz).isoformat()),
    "utc": marker("datetime", datetime.datetime(2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone.utc).isoformat()),
    "naive": marker("datetime", datetime.datetime(2001, 12, 31, 23, 59, 59).isoformat()),
    "date": marker("date", datetime.date(2024, 2, 29).isoformat()),
    "time": marker("time", datetime.time(7, 8, 9, 500000).isoformat()),
    "decimal": marker("decimal", str(decimal.Decimal("3.14159"))),
    "uuid": marker("uuid", {"hex": uuid.UUID("0d3b5e7e-8f4a-4c1b-9a2e-6c7d8e9f0a1b").hex, "version": 4}),
    "bytes": marker("bytes", b"caf\xc3\xa9".decode("utf-8")),
    "base64": marker("base64", base64.b64encode(b"\xff\xfe\x00").decode("utf-8")),
    "nested": [marker("date", "1999-01-01"), {"plain": 1}],
}
emit("markers", json.dumps(markers).encode("utf-8"), "application/json", "utf-8")
emit("marker_unknown", json.dumps(marker("frobnicate", 1)).encode(), "application/json", "utf-8")

# Containers made by Python's stdlib that Kombu's decompress() also reads.
def emit_compressed(name, body, header):
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(body)
    manifest.append({"name": name, "content_type": "text/plain",
                     "content_encoding": "utf-8", "compression": header})

text = ("stdlib " * 100).encode()
emit_compressed("stdlib_zlib_level9", zlib.compress(text, 9), "application/x-gzip")
emit_compressed("stdlib_gzip_container", __import__("gzip").compress(text, mtime=0), "application/x-gzip")
emit_compressed("stdlib_bz2_two_streams", bz2.compress(text[:300]) + bz2.compress(text[300:]), "application/x-bz2")
emit_compressed("stdlib_xz_preset9_crc32",
                lzma.compress(text, preset=9, check=lzma.CHECK_CRC32), "application/x-lzma")
emit_compressed("stdlib_xz_two_streams",
                lzma.compress(text[:300]) + lzma.compress(text[300:], check=lzma.CHECK_SHA256), "application/x-lzma")
emit_compressed("stdlib_xz_no_check", lzma.compress(text, check=lzma.CHECK_NONE), "application/x-lzma")

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
