#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/NAME/seed-*: one frame per op, replies and
pushes of docs/protocol.md, the TOML blocks of docs/operations.md, valid manifests, export
lines, HTTP requests, S3 answers. The rest of each corpus is what libFuzzer found and
`scripts/fuzz.sh --merge` kept (inputs that reach new code). Run from the repo root."""
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def requests():
    frames = {
        "ping": {}, "register": {"name": "alice", "password": "alice-secret", "invite": "t"},
        "login": {"name": "alice", "password": "alice-secret", "device": "laptop"},
        "auth": {"token": "0123abcd", "device": 3}, "logout": {}, "users": {"users": [1, "bob"]},
        "send": {"conv": 12, "client_msg_id": "a1b2", "body": "hello", "kind": "text"},
        "sync": {"after": 41, "limit": 100}, "history": {"conv": 12, "before": 40, "limit": 20},
        "convs": {"limit": 50}, "conv.open": {"user": "bob"},
        "conv.create": {"title": "team", "members": [2, "carol"]}, "conv.get": {"conv": 12},
        "conv.members": {"conv": 12}, "conv.add": {"conv": 12, "users": ["dave"]},
        "conv.remove": {"conv": 12, "user": 4}, "conv.leave": {"conv": 12},
        "conv.rename": {"conv": 12, "title": "新名字"}, "conv.role": {"conv": 12, "user": 2, "role": "admin"},
        "read": {"conv": 12, "seq": 41}, "recall": {"conv": 12, "seq": 41},
        "edit": {"conv": 12, "seq": 41, "body": "fixed"}, "typing": {"conv": 12},
        "search": {"text": "备份 deploy", "conv": 12, "since": 0, "limit": 10, "cursor": "n5"},
        "block": {"user": "mallory"}, "unblock": {"user": 9}, "blocks": {},
        "password.change": {"old": "a", "new": "b-longer-secret"}, "devices": {},
        "device.revoke": {"device": 2},
    }
    for i, (op, fields) in enumerate(frames.items()):
        write("request_fuzz", op, json.dumps({"id": i + 1, "op": op, **fields}, ensure_ascii=False))
    write("request_fuzz", "string-id", '{"id":"r-7","op":"history","conv":1,"after":0}')
    write("request_fuzz", "big-int", '{"id":9007199254740993,"op":"sync","after":18446744073709551615}')
    write("request_fuzz", "escapes", '{"id":1,"op":"send","conv":1,"client_msg_id":"x","body":"\\ud83d\\ude00\\u0000"}')


def replies():
    frames = [
        {"id": 7, "ok": True, "conv": 12, "seq": 41, "msg_id": 9001, "ts": 1763900000123,
         "duplicate": False, "user_seq": 77},
        {"id": 7, "ok": False, "error": "rate_limited", "message": "sending too fast",
         "retry_after_ms": 180},
        {"id": 1, "ok": True, "user": 1, "name": "alice", "device": 2, "token": "abcd"},
        {"id": 2, "ok": True, "events": [{"user_seq": 5, "kind": "message", "conv": 12, "seq": 41,
                                          "msg_id": 9, "sender": 2, "ts": 1, "body": "hi",
                                          "client_msg_id": "c"}],
         "next": 5, "has_more": False, "reset": False, "heads": [{"conv": 12, "seq": 41, "ts": 1}],
         "heads_next": 3},
        {"id": 3, "ok": True, "messages": [{"conv": 12, "seq": 1, "msg_id": 1, "sender": 1,
                                            "ts": 1, "body": "x", "kind": "text"}],
         "has_more_before": False, "has_more_after": True, "head_seq": 9},
        {"id": 4, "ok": True, "convs": [{"conv": 12, "kind": "group", "title": "t", "last_seq": 3,
                                         "read_seq": 1, "unread": 2}]},
        {"id": 5, "ok": True, "conversation": {"id": 12, "kind": "direct", "members": 2}, "role": "owner"},
        {"id": 6, "ok": True, "members": [{"user": 1, "role": "owner", "joined_ms": 1}]},
        {"id": 8, "ok": True, "read_seq": 4},
        {"id": 9, "ok": True, "conv": 12, "seq": 3, "edited_ms": 5},
        {"id": 10, "ok": True, "hits": [{"conv": 12, "seq": 3, "msg_id": 3, "sender": 1, "ts": 1,
                                         "snippet": "备份恢复", "highlights": [[0, 2]]}], "next": None},
        {"id": 11, "ok": True, "ts": 1763900000123},
        {"push": "events", "events": [{"user_seq": 6, "kind": "message", "conv": 12, "seq": 42}]},
        {"push": "typing", "conv": 12, "user": 2},
        {"push": "resync"},
    ]
    for i, f in enumerate(frames):
        write("reply_fuzz", str(i), json.dumps(f, ensure_ascii=False))


def configs():
    text = open(os.path.join(ROOT, "docs", "operations.md"), encoding="utf-8").read()
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
        write("config_fuzz", "operations-%d" % i, block)
    write("config_fuzz", "small", '[server]\nlisten = "127.0.0.1:7800"\n[session]\nidle_timeout_ms = 30000\n'
          '[gateway]\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n[backup]\ntarget = "s3://b/p"\n')


def admin():
    def req(method, target, body=""):
        return ("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: %d\r\n\r\n%s"
                % (method, target, len(body.encode()), body))
    write("admin_http_fuzz", "backup", req("POST", "/admin/backup?full=1"))
    write("admin_http_fuzz", "list", req("GET", "/admin/backups"))
    write("admin_http_fuzz", "invite", req("POST", "/admin/invites", '{"uses":3,"expires_in_s":3600}'))
    write("admin_http_fuzz", "user", req("POST", "/admin/users", '{"name":"grace","password":"grace-pw"}'))
    write("admin_http_fuzz", "revoke", req("POST", "/admin/users/alice/revoke"))
    write("admin_http_fuzz", "chunked",
          "POST /admin/invites HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\n{\"use\r\n7\r\ns\":2}  \r\n0\r\n\r\n")


def files():
    def rec(size, inline, rng, auth, ctype, name):
        return struct.pack("<QB", size, inline) + "\n".join([rng, auth, ctype, name]).encode()
    write("files_http_fuzz", "range", rec(1000, 0, "bytes=0-99", "Bearer abc", "image/png", "cat.png"))
    write("files_http_fuzz", "suffix", rec(1000, 1, "bytes=-200", "bearer  x ", "text/html; charset=utf-8",
                                           "報告 \"final\".pdf"))
    write("files_http_fuzz", "open", rec(5, 0, "bytes=3-", "", "video/mp4", "a\r\nb"))


MANIFEST_ID = "20260101T000000000Z-00abcd"
H = "ab" * 32


def manifests():
    base = {"format": 2, "id": MANIFEST_ID, "created_ms": 1767225600000, "kind": "full", "parent": "",
            "encrypted": False, "messages": 3, "bytes": 300, "new_bytes": 300, "stored_bytes": 200,
            "seconds": 0.5, "files": [{"path": "000012.sst", "size": 100, "hash": H, "chunks": [H]},
                                      {"path": "CURRENT", "size": 200, "hash": H, "chunks": [H, "cd" * 32]}]}
    write("manifest_fuzz", "format2", json.dumps(base))
    blobs = dict(base, format=3, blob_bytes=10,
                 blobs=[{"key": "att/ab/cd/" + "ab" * 32, "size": 10, "hash": H, "sha256": "ab" * 32,
                         "chunks": [H]}])
    write("manifest_fuzz", "format3", json.dumps(blobs))
    index = dict(base, format=4, kind="incremental", parent="20251231T000000000Z-000001", blob_count=2,
                 blob_bytes=20, blob_index={"size": 400, "hash": H, "chunks": [H]})
    write("manifest_fuzz", "format4", json.dumps(index))


def export_lines():
    lines = [
        {"type": "parley_export", "format": 1, "exported_ms": 1767225600000, "scope": "all"},
        {"type": "user", "id": 1, "name": "alice", "password_hash": "$argon2id$v=19$m=65536,t=2,p=1$x$y",
         "created_ms": 1, "last_user_seq": 9},
        {"type": "block", "user": 1, "blocked": 2, "created_ms": 3},
        {"type": "conversation", "id": 12, "kind": "group", "title": "团队", "owner": 1, "created_ms": 1,
         "read_fanout": True, "last_seq": 3, "last_ms": 5, "last_gseq": 8},
        {"type": "member", "conv": 12, "user": 1, "role": "owner", "joined_ms": 1},
        {"type": "read_cursor", "user": 1, "conv": 12, "seq": 2},
        {"type": "message", "conv": 12, "seq": 1, "msg_id": 100, "sender": 1, "sender_device": 1,
         "client_msg_id": "c1", "kind": "text", "body": "hello 你好", "server_ms": 5, "edited_ms": 6},
        {"type": "message", "conv": 12, "seq": 2, "msg_id": 101, "sender": 1, "sender_device": 1,
         "client_msg_id": "c2", "kind": "text", "body": "", "server_ms": 7, "recalled": True,
         "recalled_by": 1, "recalled_ms": 8},
        {"type": "end", "users": 1, "conversations": 1, "members": 1, "read_cursors": 1, "messages": 2},
    ]
    write("export_line_fuzz", "all", "\n".join(json.dumps(l, ensure_ascii=False) for l in lines) + "\n")
    for i, l in enumerate(lines):
        write("export_line_fuzz", str(i), json.dumps(l, ensure_ascii=False))


def search():
    for i, text in enumerate(["deploy backup", "\"quoted phrase\" 备份", "NEAR(a b) AND *", "备份恢复",
                              "café 🎉", "col:umn ^start"]):
        write("search_query_fuzz", str(i), bytes([i]) + text.encode())
    write("search_query_fuzz", "cursor", b"\x01backup\nr5")
    write("search_query_fuzz", "cursor-newest", b"\x00deploy\nn3")


def s3():
    write("s3_xml_fuzz", "error", '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
          '<Message>The specified key does not exist.</Message></Error>')
    write("s3_xml_fuzz", "list", '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
          '<Name>b</Name><IsTruncated>true</IsTruncated><Contents><Key>att/ab/cd/x</Key><Size>5</Size>'
          '</Contents><NextContinuationToken>tok</NextContinuationToken></ListBucketResult>')
    write("s3_xml_fuzz", "upload", '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>'
          '<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>')


def binary():
    # The record and hint codecs: a few bytes each; libFuzzer grows these corpora itself.
    for k in range(13):
        write("record_fuzz", str(k), bytes([k]) + b"\x01\x00\x05alice\x00\x00\x00\x00\x00\x00\x00\x07")
    write("hint_fuzz", "0", b"\x01\x05node1\x01\x0c\x00\x00\x00\x00\x00\x00\x00\x29")
    write("chunk_fuzz", "0", b"hello world hello world hello world")
    write("chunk_fuzz", "1", bytes(range(256)))


for fn in (requests, replies, configs, admin, files, manifests, export_lines, search, s3, binary):
    fn()
