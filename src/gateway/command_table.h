// The command table: one row per protocol op — its name (protocol/request.h), whether it
// needs a logged-in session, the rate limit it draws from, the lane it runs on, its handler
// and a one-line summary. The dispatcher routes and checks authentication from it; handlers
// hop to their lane with Dispatcher::RunOnLane, which reads the row. docs/protocol.md's op
// list is generated from it (a test fails when the two disagree), and the TypeScript SDK
// reads the same rows.
//
// Thread-safety: immutable after static initialisation.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/request.h"

namespace parley {

// Who may send the op.
enum class AuthRule : uint8_t {
  kAnyone,    // also before login (ping, register, login, auth)
  kLoggedIn,  // else `unauthenticated`
};

// The rate limit an op draws from (docs/protocol.md §5.2; [limits] in docs/operations.md).
enum class RateBucket : uint8_t {
  kNone,
  kAccount,     // per connection: register, login, auth, password.change (+ per-IP/account)
  kLookup,      // per connection and per user: `users`, in names/ids looked up
  kSend,        // per connection and per user, paced: send, edit
  kTyping,      // per connection, per user and per (user, conversation)
  kMembership,  // per user: conversation creation and membership changes
  kSearch,      // per connection
};

// Where the op's work runs once its frame is parsed.
enum class Lane : uint8_t {
  kInline,         // on the connection's network thread (sub-millisecond store reads)
  kSequencer,      // queued at the sequencer; the reply comes with the commit
  kWorker,         // on the worker pool (blocking reads)
  kWorkerInOrder,  // on the worker pool, the connection reading no further frame meanwhile
  kHasher,         // on the bounded password-hashing pool (`unavailable` when full)
};

std::string_view AuthRuleName(AuthRule rule);
std::string_view RateBucketName(RateBucket bucket);
std::string_view LaneName(Lane lane);

class Dispatcher;
class SessionLink;

struct Command {
  using Handler = Status (Dispatcher::*)(const std::shared_ptr<SessionLink>& s,
                                         const ParsedRequest& r);
  Op op;
  AuthRule auth;
  RateBucket bucket;
  Lane lane;
  Handler handler;
  std::string_view summary;

  std::string_view name() const { return OpName(op); }
};

// Every op, in the order of the Op enum (CommandFor(op) is an index).
const std::array<Command, kOpCount>& Commands();
inline const Command& CommandFor(Op op) { return Commands()[static_cast<size_t>(op)]; }

// The op list of docs/protocol.md §3, as Markdown, generated from the table.
std::string OpTableMarkdown();

}  // namespace parley
