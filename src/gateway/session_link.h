// SessionLink: what the dispatcher needs from a connection, without the network types.
// The WebSocket session implements it; keeping Beast out of the dispatcher keeps the
// protocol logic in small, fast-compiling files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "hub/hub.h"
#include "limits/token_bucket.h"
#include "model/api_types.h"

namespace parley {

// Per-connection protocol state. Touched only on the session's own thread.
struct SessionState {
  SessionState(double send_rate, double send_burst, double auth_rate, double auth_burst,
               double typing_rate, double typing_burst, double search_rate, double search_burst)
      : send_bucket(send_rate, send_burst),
        auth_bucket(auth_rate, auth_burst),
        typing_bucket(typing_rate, typing_burst),
        search_bucket(search_rate, search_burst) {}

  // The client's address as the socket sees it ("127.0.0.1", "::1"): the key of per-IP
  // limits and the address in audit logs. Set once, before the first frame is read.
  std::string peer_ip;
  // The connection's id, unique for the process's lifetime (never reused, unlike an
  // address): the origin of its sends (SendRequest::origin) and its key in the hub, which
  // then does not push a send's own event back to it. Set once, before the first frame.
  uint64_t session_id = 0;
  // The client asked for push batches (`push_batch` on auth, login or register): pushes
  // queued together go out as one {"push":"events",…} frame (gateway/push_batch.h).
  bool push_batch = false;
  std::optional<Identity> identity;  // set once authenticated
  std::string user_name;
  bool auth_pending = false;  // a login is being checked on a worker thread
  // The hub revoked this session (its token was revoked, or the user is over the session
  // cap): it is closing and may not authenticate again.
  bool revoked = false;
  // When this session last asked for its token's last-seen time to move (steady ms).
  int64_t last_touch_ms = 0;
  TokenBucket send_bucket;
  TokenBucket auth_bucket;
  TokenBucket typing_bucket;
  TokenBucket search_bucket;
  // Flow control set by the dispatcher and obeyed by the session's read loop, so that the
  // sends of one connection reach the sequencer in the order their frames were read:
  // - no frame is read before `read_resume_us` (a send over its rate borrowed tokens: wait
  //   until they are back instead of refusing it);
  // - none while `ordered_hops` > 0 (a send is on a worker before it reaches the sequencer;
  //   a later frame must not overtake it). The worker ends the hop through RunOnSession.
  // - after a send was refused, the sends read before `send_refused_until_us` are refused
  //   too, so a client that resends the refused ones in order keeps its order.
  int64_t read_resume_us = 0;
  int ordered_hops = 0;
  int64_t send_refused_until_us = 0;
  // `users` lookups, in names/ids (set from the config by Dispatcher::NewSessionState).
  TokenBucket users_bucket{0, 1};
  // Failed requests in the current 10 s window, for the abuse limit.
  int64_t error_window_start_us = 0;
  size_t errors_in_window = 0;
};

class SessionLink : public Subscriber {
 public:
  // Session thread only.
  virtual SessionState& state() = 0;
  // The connection has ended (nothing more will be read or written). Session thread only.
  virtual bool finished() const = 0;
  // Queues a reply (never dropped) and marks one request finished. Any thread.
  virtual void Reply(std::string frame) = 0;
  // Runs `fn` on the session's thread (after the calls queued before it), then resumes
  // reading if `fn` lifted what paused it (see SessionState). Any thread.
  virtual void RunOnSession(std::function<void()> fn) = 0;
  // Sends a close frame with `code` after the queued frames. Any thread.
  virtual void CloseWith(uint16_t code, std::string reason) = 0;
};

}  // namespace parley
