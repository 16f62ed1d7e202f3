// Random identifiers the client makes up: client_msg_id values (the idempotency key of a
// send, docs/protocol.md §3 `send`).
//
// Thread-safety: thread-safe (a generator per thread).
#pragma once

#include <string>

namespace parley::client {

// 24 lower-case hex characters (96 random bits): collisions between a user's sends within
// the server's 7-day dedup window are out of the question.
std::string NewClientMsgId();

}  // namespace parley::client
