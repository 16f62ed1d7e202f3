// The one way the CLI sends a message (text, custom, file, image): a client_msg_id made up
// once and kept across every retry (a lost connection, rate limiting), so a retry can
// never store the message twice; and how the acknowledgement is printed.
//
// Thread-safety: single-threaded, like the Cli.
#pragma once

#include <functional>
#include <string>

#include "cli.h"

namespace parley::cli {

// One attempt over `client`; sets *retry_after_ms from a rate_limited reply.
using SendAttempt =
    std::function<Result<SendAck>(client::BlockingClient& client, int64_t* retry_after_ms)>;

// Runs `attempt` up to 5 times: after rate_limited (waiting the server's hint) and after a
// transport error (reopening `session`). The first other error, or the last one, is returned.
Result<SendAck> SendWithRetries(Cli& cli, Session& session, const SendAttempt& attempt);

// "sent #41 in conversation 7" (--json: the ack object).
void PrintSendAck(Cli& cli, const SendAck& ack);

// `send --file`: upload the file, then send it as a `file` or `image` message
// (cmd_attach.cc).
struct SendFileArgs {
  std::string to;
  ConvId conv = 0;
  std::string path;
  std::string caption;
  bool image = false;  // --image: kind "image" even if the server did not say so
};
int SendFile(Cli& cli, const SendFileArgs& args);

}  // namespace parley::cli
