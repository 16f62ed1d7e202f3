// GatewayConfig: every limit and switch of the network edge, with its default.
// docs/operations.md lists the TOML keys ([server], [session], [limits]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace parley {

struct GatewayConfig {
  // [server]
  // Address and port to listen on. Default: 127.0.0.1:7800.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 7800;
  // Network threads, one io_context each; 0 = one per core. Default: 0.
  size_t io_threads = 0;
  // Threads for blocking work (password hashing, conversation changes); 0 = one per core.
  size_t worker_threads = 0;
  // Connections beyond this are refused (HTTP 503 with Retry-After). The process's open-file
  // limit caps it too. Default: 100,000.
  size_t max_connections = 100000;
  // Browser origins allowed to open the WebSocket ("https://chat.example.com"; "*" = any).
  // An upgrade with an Origin header not listed gets HTTP 403; one without an Origin
  // header (not a browser) is always allowed. Default: empty (no browser origin).
  std::vector<std::string> allowed_origins;
  // Peers whose X-Forwarded-For names the client ([server] trusted_proxies): addresses or
  // CIDR blocks, e.g. the cluster's HAProxy. Empty: every peer is the client.
  std::vector<std::string> trusted_proxies;
  // An HTTP connection (before any WebSocket upgrade) is closed when a whole request has
  // not arrived within this (from the accept or the previous response), or a response
  // could not be written within it. Default: 15 s.
  int64_t http_idle_timeout_ms = 15000;
  // Requests served on one keep-alive HTTP connection; the last answer says
  // `Connection: close`. Default: 100.
  size_t http_max_requests_per_conn = 100;
  // On a graceful stop (SIGTERM), /readyz answers 503 this long while everything else is
  // still served, before connections are closed with 1001: a load balancer that checks
  // /readyz (HAProxy: inter x fall) stops routing here first. Default: 0 (one node).
  int64_t shutdown_grace_ms = 0;

  // [tls]
  // PEM certificate chain and private key; both set: the main listener speaks only TLS
  // (wss:// and https://). The key file must not be readable by other users. Reloaded on
  // SIGHUP. Default: empty (plain TCP).
  std::string tls_cert_file;
  std::string tls_key_file;

  // [admin] listen: a second, plain-HTTP listener for /admin/* and /metrics (and the
  // health checks); the main listener then answers 404 for those. Default: none (port 0).
  std::string admin_listen_host;
  uint16_t admin_listen_port = 0;

  // [session]
  // A connection must authenticate within this. Default: 10 s.
  int64_t auth_timeout_ms = 10000;
  // A connection with no frame for this long is dropped; the server pings at half of it.
  // Default: 60 s.
  int64_t idle_timeout_ms = 60000;
  // Frames above this get a `too_large` error (connection stays). Default: 64 KiB.
  size_t max_frame_bytes = 64 * 1024;
  // Frames above this close the connection with 1009. Default: 1 MiB.
  size_t max_frame_hard_bytes = 1024 * 1024;
  // Before the connection is authenticated, a message (after permessage-deflate inflation)
  // above this closes the connection with 1009; the two limits above apply from the
  // successful login/auth on. Bounds what an unauthenticated client can make the server
  // hold. Default: 8 KiB (a login with the longest allowed password fits).
  size_t max_frame_bytes_before_auth = 8 * 1024;
  // Outgoing queue bounds per connection; beyond them pushes are dropped (one `resync`
  // follows) and reading pauses. Defaults: 1024 frames, 4 MiB.
  size_t outbox_max_frames = 1024;
  size_t outbox_max_bytes = 4 * 1024 * 1024;
  // Offer permessage-deflate to clients. Default: true.
  bool permessage_deflate = true;
  // permessage-deflate parameters (RFC 7692). zlib's state is most of what a compressing
  // connection costs, and Beast keeps it for the connection's life, idle or not: with
  // Beast's own defaults (15-bit windows, memLevel 4) ~120 KiB per connection. These
  // defaults cut it to ~18 KiB (12.7 of them Beast's fixed zlib objects) and still
  // compress typical frames ~4x, because frames are small and alike (measurements:
  // docs/operations.md, "permessage-deflate memory").
  // The server's compression window, 2^N bytes, answered as server_max_window_bits (also
  // to clients that did not ask; RFC 7692 7.1.2.1). 9..15. Default: 10.
  int deflate_server_max_window_bits = 10;
  // The window the client must compress with, 2^N bytes (the server's inflate window),
  // answered as client_max_window_bits. Below 15, a client whose offer lacks
  // client_max_window_bits (every browser sends it) gets no compression. 9..15.
  // Default: 10.
  int deflate_client_max_window_bits = 10;
  // zlib memLevel of the server's compressor, 1..9: hash table and symbol buffer of
  // 2^(N+8) bytes each. Default: 1.
  int deflate_mem_level = 1;
  // zlib compression level of the server, 0..9. Default: 6.
  int deflate_comp_level = 6;
  // Ask for no context takeover (each message compressed on its own) on the server's and
  // on the client's side. Saves no memory with Beast (it keeps the buffers anyway) and
  // compresses worse. Defaults: false.
  bool deflate_server_no_context_takeover = false;
  bool deflate_client_no_context_takeover = false;

  // [limits]
  // Sends per second and burst, per connection and per user (all devices). Defaults:
  // 500/s burst 1000 per connection; 1000/s burst 2000 per user (bots and bridges send
  // far more than people).
  double send_rate_per_conn = 500;
  double send_burst_per_conn = 1000;
  double send_rate_per_user = 1000;
  double send_burst_per_user = 2000;
  // A send over those rates is not refused: it is taken in order and the connection stops
  // reading until the tokens it borrowed are back (backpressure). Only when the user's
  // bucket, shared by all of their connections, is so far behind that the wait would exceed
  // this is a send refused with `rate_limited`. Default: 2000 ms.
  int64_t send_max_wait_ms = 2000;
  // login/auth/register attempts per connection: 2/s, burst 10.
  double auth_rate_per_conn = 2;
  double auth_burst_per_conn = 10;
  // typing notices per connection: 5/s, burst 10.
  double typing_rate_per_conn = 5;
  double typing_burst_per_conn = 10;
  // typing notices per user (all connections): 5/s, burst 10; and per user and
  // conversation: 1/s, burst 3 (a notice reaches every member, and clients repeat it every
  // few seconds at most).
  double typing_rate_per_user = 5;
  double typing_burst_per_user = 10;
  double typing_rate_per_conv = 1;
  double typing_burst_per_conv = 3;
  // Membership changes per user (all connections), counted in members: conv.create costs
  // 1 + its members, conv.add the users added, conv.remove/leave/rename/role 1 each.
  // Defaults: 10/s, burst 1000 (a few big groups at once, then one member every 100 ms).
  double membership_rate_per_user = 10;
  double membership_burst_per_user = 1000;
  // Searches cost milliseconds of a worker thread each.
  double search_rate_per_conn = 10;
  double search_burst_per_conn = 20;
  // Failed requests within 10 s after which a connection is closed with 1008. Default: 100.
  size_t max_errors = 100;
  // Open connections per client address (IPv6: per /64), and new connections per second
  // and burst per address; beyond them a connection is refused at once (HTTP 429 with
  // Retry-After on plain listeners). 0 turns a limit off. Behind a reverse proxy every
  // connection comes from the proxy's address: turn these off and limit at the proxy.
  // Defaults: 1,000 open; 100/s burst 1,000.
  size_t max_connections_per_ip = 1000;
  double handshake_rate_per_ip = 100;
  double handshake_burst_per_ip = 1000;
  // Login backoff (docs/operations.md, "Login limits"): after this many failed logins for
  // one account name / from one client IP, each further failure locks that name / IP out
  // for a time that doubles from login_backoff_initial_ms up to the cap; a success resets
  // the account (not the IP). 0 turns that limit off. Defaults: 5 per account, 20 per IP,
  // 1 s initial, caps 60 s per account (so an attacker cannot lock a user out for long)
  // and 5 min per IP.
  size_t login_failures_per_account = 5;
  size_t login_failures_per_ip = 20;
  int64_t login_backoff_initial_ms = 1000;
  int64_t login_backoff_max_account_ms = 60'000;
  int64_t login_backoff_max_ip_ms = 300'000;
  // `users` lookups, counted in names/ids looked up, per connection and per user.
  // Defaults: 100/s burst 1000 per connection; 200/s burst 2000 per user.
  double users_rate_per_conn = 100;
  double users_burst_per_conn = 1000;
  double users_rate_per_user = 200;
  double users_burst_per_user = 2000;
  // `register` requests per client IP (over all its connections). Defaults: 0.1/s (6 per
  // minute), burst 100 (a classroom or office behind one address signing up at once).
  double register_rate_per_ip = 0.1;
  double register_burst_per_ip = 100;

  // [accounts]
  // Threads for password hashing (register, login, password changes), apart from the
  // worker pool; 0 = half the cores, at least 1. Default: 0.
  size_t hash_threads = 0;
  // Password operations that may wait for a hashing thread; beyond, they are refused at
  // once with `unavailable` and retry_after_ms. Default: 64.
  size_t hash_queue = 64;
  // Live (authenticated) sessions per user; one more closes that user's OLDEST session
  // with 4002 (a user reconnecting past half-open connections is never locked out).
  // 0 = no cap. Default: 64.
  size_t max_sessions_per_user = 64;
};

}  // namespace parley
