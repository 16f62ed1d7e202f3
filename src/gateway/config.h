// GatewayConfig: every limit and switch of the network edge, with its default.
// docs/operations.md lists the TOML keys ([server], [session], [limits]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

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
  // Outgoing queue bounds per connection; beyond them pushes are dropped (one `resync`
  // follows) and reading pauses. Defaults: 1024 frames, 4 MiB.
  size_t outbox_max_frames = 1024;
  size_t outbox_max_bytes = 4 * 1024 * 1024;
  // Offer permessage-deflate to clients. Default: true.
  bool permessage_deflate = true;

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
  // Live (authenticated) sessions per user; one more closes that user's OLDEST session
  // with 4002 (a user reconnecting past half-open connections is never locked out).
  // 0 = no cap. Default: 64.
  size_t max_sessions_per_user = 64;
};

}  // namespace parley
