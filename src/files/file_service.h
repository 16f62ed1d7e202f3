// FileService: attachments end to end on top of src/attach — the HTTP API of
// docs/protocol.md §7 (resumable uploads, downloads with ranges or presigned redirects,
// per-conversation access), thumbnails of images (src/media) when an upload completes,
// per-user quotas, the links between file messages and their attachments (the gateway's
// AttachmentLinks, and the recall observer), and a collector that removes unfinished
// uploads and unreferenced attachments on a timer.
//
// Threads: its own pool (`threads`) runs every request's work — the network threads only
// hand requests over and stream downloads from the local store — plus one collector
// thread. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "attach/catalog.h"
#include "attach/upload_manager.h"
#include "blob/blob_store.h"
#include "common/worker_pool.h"
#include "files/files_config.h"
#include "gateway/attachment_links.h"
#include "gateway/routes.h"
#include "metrics/metrics.h"
#include "service/api.h"

namespace parley::files {

class FileService final : public AttachmentLinks {
 public:
  // `core` and `registry` must outlive the service. `data_dir` places the local store.
  static Result<std::unique_ptr<FileService>> Open(const FilesConfig& config,
                                                   const std::string& data_dir, CoreApi& core,
                                                   metrics::Registry& registry);
  ~FileService() override;  // Stop()

  // Stops the collector and finishes the requests queued (call after the gateway stopped
  // taking requests). Later Unlinks (recalls committed while the core shuts down) run on
  // the caller's thread. Idempotent.
  void Stop();

  // Where the attachments live (backups copy it).
  blob::BlobStore& store() { return *store_; }

  // The rows to add to the gateway's route table.
  std::vector<Route> Routes();

  Result<Linked> Link(const Identity& who, ConvId conv, MessageKind kind, std::string_view body,
                      const std::string& client_msg_id) override;
  void Unlink(const std::string& client_msg_id, const std::vector<std::string>& ids) override;
  // A file message was recalled (`before`: as it was): its references go, on the pool.
  void OnRecalled(const MessageRecord& before);

  // One pass of the collector (also run every collect_every_ms).
  Result<attach::CollectStats> CollectNow();

 private:
  FileService(const FilesConfig& config, std::unique_ptr<blob::BlobStore> store, CoreApi& core,
              metrics::Registry& registry);

  struct Call;  // one request being served
  void Serve(RouteRequest req, ReplyFn reply, void (FileService::*handler)(Call&));
  void CreateUpload(Call& call);
  void UploadRequest(Call& call);  // /v1/uploads/{id}[/complete]
  void CompleteUpload(Call& call, const std::string& id);
  void AttachmentRequest(Call& call);  // /v1/attachments/{id}[/thumbnail|/info]
  void SendBytes(Call& call, const attach::AttachmentRecord& record, bool thumbnail);
  // Fills the image fields of `record` from a thumbnail of its bytes, when they are an
  // image within the limits; else leaves it a file.
  void DescribeImage(attach::AttachmentRecord* record);
  Status CheckQuota(UserId user, uint64_t more);
  void CollectLoop();

  FilesConfig config_;
  std::unique_ptr<blob::BlobStore> store_;
  CoreApi& core_;
  attach::UploadManager uploads_;
  attach::AttachmentCatalog catalog_;
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
  std::mutex pool_mu_;  // pool_ itself: Stop() ends it while a recall may Unlink
  std::unique_ptr<WorkerPool> pool_;

  std::mutex collect_mu_;
  std::condition_variable collect_cv_;
  bool stopping_ = false;
  std::thread collector_;
};

}  // namespace parley::files
