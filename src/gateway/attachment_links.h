// AttachmentLinks: what the gateway asks of the attachment service (src/files) when a
// `send` of kind file or image arrives — check that the sender may send the attachments
// its body names to that conversation, reference them under the message's client_msg_id,
// and describe them in the body to store; and undo the references of a send that failed.
//
// Thread-safety: called on the gateway's worker threads (the calls read and write the
// object store); implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/api_types.h"

namespace parley {

class AttachmentLinks {
 public:
  virtual ~AttachmentLinks() = default;

  struct Linked {
    std::string stored_body;         // the body with each id replaced by its description
    std::vector<std::string> added;  // ids this call referenced (not a retry's)
  };
  // kInvalidArgument (not the sender's, another conversation, not an image, a malformed
  // body), kNotFound (no such attachment), kUnavailable (the store unreachable).
  virtual Result<Linked> Link(const Identity& who, ConvId conv, MessageKind kind,
                              std::string_view body, const std::string& client_msg_id) = 0;
  // The send Link prepared stored nothing: drop the references it added. Returns at once
  // (the work goes to the service's own threads): called on the sequencer thread.
  virtual void Unlink(const std::string& client_msg_id, const std::vector<std::string>& ids) = 0;
};

}  // namespace parley
