// MessageService: send, recall, edit, and read cursors — the mutating half of the timeline.
//
// Send validates on the caller's thread (size, UTF-8, custom JSON, client_msg_id), then
// the sequencer checks dedup and membership, assigns conv_seq, and stages the message,
// the change-feed entry, the dedup record, the sender's read cursor, the conversation
// head and one inbox event per member (write fan-out) in the batch it commits durably.
// The callback runs after that commit, on the sequencer thread: it must not block.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "model/api_types.h"
#include "service/api.h"
#include "service/await.h"
#include "service/config.h"
#include "service/sequencer.h"

namespace parley {

class MessageService final : public MessagesApi {
 public:
  MessageService(Sequencer* sequencer, const ServiceConfig& config)
      : sequencer_(sequencer), config_(config) {}

  // The ack's user_seq is the sender's own event (0 in a read-fan-out group); that event
  // is marked with request.origin, so the hub does not push it back to the sending
  // connection. A retry with the same client_msg_id (per sender, whatever the device) gets
  // the first ack with duplicate = true (and user_seq 0: the dedup record does not keep it); the
  // same client_msg_id with another conversation, kind or body is kIdempotencyConflict and stores
  // nothing.
  void Send(const Identity& who, SendRequest request, Callback<SendAck> done) override;
  Result<SendAck> SendSync(const Identity& who, SendRequest request);

  // Tombstones message (conv, seq): allowed to its sender within the recall window, and
  // to a group's owner or admins at any time. Recalling twice is not an error.
  void Recall(const Identity& who, ConvId conv, Seq seq, Callback<bool> done) override;
  // Called with the message as it was, after each recall that changed it commits (file
  // messages lose their attachment references). On the sequencer thread: must not block.
  // Set before serving.
  void SetRecallObserver(std::function<void(const MessageRecord&)> observer) {
    recall_observer_ = std::move(observer);
  }
  Status RecallSync(const Identity& who, ConvId conv, Seq seq);

  // Replaces the body of text message (conv, seq): allowed to its sender only, within the
  // edit window, unless it was recalled. The body obeys the rules of Send. Every member
  // gets a kEdit event and the change feed a kEdit entry. The identical body is a no-op.
  void Edit(const Identity& who, ConvId conv, Seq seq, std::string body,
            Callback<EditReply> done) override;
  Result<EditReply> EditSync(const Identity& who, ConvId conv, Seq seq, std::string body);

  // Moves the user's read cursor forward to `seq` (clamped to the head); never back.
  void MarkRead(const Identity& who, ConvId conv, Seq seq, Callback<ReadReply> done) override;
  Result<ReadReply> MarkReadSync(const Identity& who, ConvId conv, Seq seq);

 private:
  Status Validate(const SendRequest& request) const;
  // The rules of a body of `kind`, shared by Send and Edit: size, UTF-8, and non-empty text
  // or a JSON object.
  Status ValidateBody(MessageKind kind, std::string_view body) const;

  Sequencer* sequencer_;
  ServiceConfig config_;
  std::function<void(const MessageRecord&)> recall_observer_;
};

}  // namespace parley
