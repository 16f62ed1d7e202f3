#include "files/file_service.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "blob/s3_blob_store.h"
#include "common/clock.h"
#include "common/json_integer.h"
#include "files/http_util.h"
#include "media/thumbnail.h"
#include "model/names.h"

namespace parley::files {
namespace {

using attach::AttachmentRecord;
using nlohmann::json;

constexpr const char* kUploads = "/v1/uploads";
constexpr const char* kUploadsSlash = "/v1/uploads/";
constexpr const char* kAttachments = "/v1/attachments/";

int64_t WallMs() { return NowMillis(); }

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the NUL
  return out;
}

// The Attachment object of the protocol.
json AttachmentJson(const AttachmentRecord& r, bool with_preview) {
  json j = {{"id", r.id},           {"conv", r.conv},
            {"owner", r.owner},     {"name", r.name},
            {"mime", r.mime},       {"size", r.size},
            {"sha256", r.sha256},   {"kind", r.image ? "image" : "file"},
            {"width", r.width},     {"height", r.height},
            {"thumbnail", r.image}, {"created_ts", r.created_ms}};
  if (with_preview && !r.preview.empty()) j["preview"] = r.preview;
  return j;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json UploadJson(const attach::UploadState& st, const attach::UploadLimits& limits) {
  return {{"upload_id", st.id},
          {"offset", st.offset},
          {"size", st.spec.size},
          {"part_bytes", limits.part_bytes},
          {"expires_ts", st.created_ms + limits.ttl_ms}};
}

std::unique_ptr<blob::BlobStore> OpenStoreOrNull(const FilesConfig& c, const std::string& data_dir,
                                                 Status* error) {
  if (c.store.empty() || c.store == "local") {
    auto local = blob::OpenLocalBlobStore(c.dir.empty() ? data_dir + "/attachments" : c.dir);
    if (!local.ok()) *error = local.status();
    return local.ok() ? std::move(*local) : nullptr;
  }
  if (!c.store.starts_with("s3://")) {
    *error = InvalidArgument("attachments.store must be \"local\" or s3://BUCKET/PREFIX");
    return nullptr;
  }
  const std::string rest = c.store.substr(5);
  const size_t slash = rest.find('/');
  s3::S3Config s3 = c.s3;
  s3.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!prefix.empty() && !prefix.ends_with('/')) prefix += '/';
  auto remote = blob::OpenS3BlobStore(std::move(s3), std::move(prefix));
  if (!remote.ok()) *error = remote.status();
  return remote.ok() ? std::move(*remote) : nullptr;
}

}  // namespace

struct FileService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : uploads_completed(r.counter("parley_attachments_uploaded_total",
                                    "Uploads completed (attachments created).")),
        upload_bytes(
            r.counter("parley_attachment_upload_bytes_total", "Bytes received in upload parts.")),
        download_bytes(r.counter("parley_attachment_download_bytes_total",
                                 "Bytes of attachments and thumbnails streamed to clients.")),
        deduplicated(r.counter("parley_attachments_deduplicated_total",
                               "Completed uploads whose bytes were stored already.")),
        thumbnails(r.counter("parley_attachment_thumbnails_total", "Thumbnails made.")),
        thumbnails_refused(r.counter("parley_attachment_thumbnails_refused_total",
                                     "Images kept as files: over the limits or undecodable.")),
        collected(r.counter("parley_attachments_collected_total",
                            "Attachments and unfinished uploads removed by the collector.")),
        refused_busy(r.counter("parley_attachment_requests_busy_total",
                               "Attachment requests refused with 429: every thread busy.")) {}
  metrics::Counter& uploads_completed;
  metrics::Counter& upload_bytes;
  metrics::Counter& download_bytes;
  metrics::Counter& deduplicated;
  metrics::Counter& thumbnails;
  metrics::Counter& thumbnails_refused;
  metrics::Counter& collected;
  metrics::Counter& refused_busy;
};

// A request on its way: who asks (after authentication), and how to answer.
struct FileService::Call {
  RouteRequest req;
  ReplyFn reply;
  std::string request_id;
  Identity who;

  void Error(int status, std::string_view code, std::string_view message) {
    reply(ErrorReply(status, code, message, request_id));
  }
  void Fail(const Status& status) { reply(StatusReply(status, request_id)); }
  void Json(int status, const json& body) { reply(JsonReply(status, Dump(body), request_id)); }
};

Result<std::unique_ptr<FileService>> FileService::Open(const FilesConfig& config,
                                                       const std::string& data_dir, CoreApi& core,
                                                       metrics::Registry& registry) {
  Status error;
  auto store = OpenStoreOrNull(config, data_dir, &error);
  if (!store) return error;
  PARLEY_RETURN_IF_ERROR(store->CleanUp());
  PARLEY_RETURN_IF_ERROR(media::InitMedia());
  return std::unique_ptr<FileService>(new FileService(config, std::move(store), core, registry));
}

FileService::FileService(const FilesConfig& config, std::unique_ptr<blob::BlobStore> store,
                         CoreApi& core, metrics::Registry& registry)
    : config_(config),
      store_(std::move(store)),
      core_(core),
      uploads_(store_.get(),
               attach::UploadLimits{config.max_file_bytes, config.part_bytes, config.upload_ttl_ms},
               WallMs),
      catalog_(store_.get(), WallMs),
      metrics_(std::make_unique<Metrics>(registry)),
      pool_(std::make_unique<WorkerPool>(config.threads, config.max_queued)) {
  if (config_.collect_every_ms > 0) collector_ = std::thread([this] { CollectLoop(); });
}

FileService::~FileService() { Stop(); }

void FileService::Stop() {
  {
    std::lock_guard<std::mutex> lock(collect_mu_);
    stopping_ = true;
  }
  collect_cv_.notify_all();
  if (collector_.joinable()) collector_.join();
  std::unique_ptr<WorkerPool> pool;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool = std::move(pool_);
  }
  pool.reset();  // runs what is queued (replies to requests already read), then joins
}

std::vector<Route> FileService::Routes() {
  auto route = [this](void (FileService::*handler)(Call&)) {
    return [this, handler](RouteRequest req, ReplyFn reply) {
      Serve(std::move(req), std::move(reply), handler);
    };
  };
  std::vector<Route> routes;
  routes.push_back({.path = kUploads,
                    .methods = kPost,
                    .served_on = ServedOn::kMain,
                    .handler = route(&FileService::CreateUpload)});
  routes.push_back({.path = kUploadsSlash,
                    .prefix = true,
                    .methods = kGet | kPost | kPatch | kDelete,
                    .served_on = ServedOn::kMain,
                    .handler = route(&FileService::UploadRequest),
                    .max_body_bytes = static_cast<size_t>(uploads_.limits().part_bytes)});
  routes.push_back({.path = kAttachments,
                    .prefix = true,
                    .methods = kGet,
                    .served_on = ServedOn::kMain,
                    .handler = route(&FileService::AttachmentRequest)});
  return routes;
}

void FileService::Serve(RouteRequest req, ReplyFn reply, void (FileService::*handler)(Call&)) {
  auto call = std::make_shared<Call>();
  call->request_id = RequestIdOf(req);
  call->req = std::move(req);
  call->reply = std::move(reply);
  std::unique_lock<std::mutex> pool_lock(pool_mu_);
  const bool queued = pool_ && pool_->TrySubmit([this, call, handler] {
    const std::string token = BearerToken(call->req.authorization);
    if (token.empty()) {
      return call->Error(401, "unauthenticated", "send Authorization: Bearer <device token>");
    }
    auto who = core_.accounts().Authenticate(token);
    if (!who.ok()) return call->Fail(who.status());
    call->who = *who;
    (this->*handler)(*call);
  });
  pool_lock.unlock();
  if (!queued) {
    metrics_->refused_busy.Inc();
    call->Error(429, "rate_limited", "every attachment thread is busy; retry");
  }
}

Status FileService::CheckQuota(UserId user, uint64_t more) {
  if (config_.quota_bytes == 0) return Status::Ok();
  PARLEY_ASSIGN_OR_RETURN(uint64_t stored, catalog_.UsageOf(user));
  PARLEY_ASSIGN_OR_RETURN(uint64_t pending, uploads_.PendingBytes(user));
  if (stored + pending + more > config_.quota_bytes) {
    return Status(Code::kResourceExhausted, "your files take " + std::to_string(stored) +
                                                " bytes and uploads in progress " +
                                                std::to_string(pending) + " of your quota of " +
                                                std::to_string(config_.quota_bytes) +
                                                "; this one needs " + std::to_string(more));
  }
  return Status::Ok();
}

void FileService::CreateUpload(Call& call) {
  json j = json::parse(call.req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return call.Error(400, "bad_request", "the body must be a JSON object");
  }
  attach::UploadSpec spec;
  try {
    spec.user = call.who.user_id;
    spec.conv = JsonInteger<ConvId>(j.at("conv"));
    spec.size = JsonInteger<uint64_t>(j.at("size"));
    spec.sha256 = j.at("sha256").get<std::string>();
    spec.mime = j.at("mime").get<std::string>();
    spec.name = j.at("name").get<std::string>();
  } catch (const json::exception&) {
    return call.Error(400, "bad_request",
                      "give conv (int), size (int), sha256, mime and name (strings)");
  }
  if (spec.size == 0) return call.Error(400, "invalid_argument", "size must be at least 1");
  if (auto member = core_.conversations().Get(spec.user, spec.conv); !member.ok()) {
    return call.Fail(member.status());
  }
  if (spec.size > config_.max_file_bytes) {
    return call.Error(413, "too_large",
                      "the file of " + std::to_string(spec.size) + " bytes is over the limit of " +
                          std::to_string(config_.max_file_bytes));
  }
  if (Status quota = CheckQuota(spec.user, spec.size); !quota.ok()) {
    if (quota.code() == Code::kResourceExhausted) {
      return call.Error(507, "quota_exceeded", quota.message());
    }
    return call.Fail(quota);
  }
  auto st = uploads_.Create(spec);
  if (!st.ok()) return call.Fail(st.status());
  call.Json(201, UploadJson(*st, uploads_.limits()));
}

void FileService::UploadRequest(Call& call) {
  std::string id = call.req.path.substr(std::string(kUploadsSlash).size());
  const std::string method = call.req.method;
  if (id.ends_with("/complete")) {
    if (method != "POST") return call.Error(405, "bad_request", "POST .../complete only");
    return CompleteUpload(call, id.substr(0, id.size() - 9));
  }
  if (method == "POST") return call.Error(405, "bad_request", "POST /v1/uploads/{id}/complete");
  const UserId user = call.who.user_id;
  if (method == "DELETE") {
    Status st = uploads_.Abort(user, id);
    if (!st.ok()) return call.Fail(st);
    return call.reply(JsonReply(204, "", call.request_id));
  }
  if (method == "GET" || method == "HEAD") {
    auto st = uploads_.Get(user, id);
    if (!st.ok()) return call.Fail(st.status());
    RouteReply reply = JsonReply(200, Dump(UploadJson(*st, uploads_.limits())), call.request_id);
    reply.headers.emplace_back("Upload-Offset", std::to_string(st->offset));
    reply.headers.emplace_back("Upload-Length", std::to_string(st->spec.size));
    return call.reply(std::move(reply));
  }
  // PATCH: one part at the server's offset.
  const std::string offset_text = call.req.Header("Upload-Offset");
  uint64_t offset = 0;
  auto [end, ec] =
      std::from_chars(offset_text.data(), offset_text.data() + offset_text.size(), offset);
  if (offset_text.empty() || ec != std::errc() || end != offset_text.data() + offset_text.size()) {
    return call.Error(400, "bad_request", "send the part's offset in Upload-Offset");
  }
  auto appended = uploads_.Append(user, id, offset, call.req.body);
  if (!appended.ok()) {
    if (appended.status().code() != Code::kFailedPrecondition) return call.Fail(appended.status());
    auto st = uploads_.Get(user, id);
    const uint64_t at = st.ok() ? st->offset : 0;
    json body = {{"error", "offset_mismatch"},
                 {"message", appended.status().message()},
                 {"request_id", call.request_id},
                 {"offset", at}};
    RouteReply reply = JsonReply(409, Dump(body), call.request_id);
    reply.headers.emplace_back("Upload-Offset", std::to_string(at));
    return call.reply(std::move(reply));
  }
  metrics_->upload_bytes.Inc(call.req.body.size());
  RouteReply reply = JsonReply(204, "", call.request_id);
  reply.headers.emplace_back("Upload-Offset", std::to_string(*appended));
  call.reply(std::move(reply));
}

void FileService::CompleteUpload(Call& call, const std::string& id) {
  const UserId user = call.who.user_id;
  auto st = uploads_.Get(user, id);
  if (!st.ok()) return call.Fail(st.status());
  if (auto member = core_.conversations().Get(user, st->spec.conv); !member.ok()) {
    return call.Fail(member.status());
  }
  auto stored = uploads_.Complete(user, id);
  if (!stored.ok()) {
    const Status& s = stored.status();
    if (s.code() == Code::kInvalidArgument) {
      return call.Error(400, "checksum_mismatch", s.message());
    }
    if (s.code() == Code::kFailedPrecondition) {
      json body = {{"error", "offset_mismatch"},
                   {"message", s.message()},
                   {"request_id", call.request_id},
                   {"offset", st->offset}};
      return call.reply(JsonReply(409, Dump(body), call.request_id));
    }
    return call.Fail(s);
  }
  if (stored->deduplicated) metrics_->deduplicated.Inc();
  AttachmentRecord record;
  record.id = attach::NewAttachmentId();
  record.conv = st->spec.conv;
  record.owner = user;
  record.name = st->spec.name;
  record.mime = st->spec.mime;
  record.sha256 = stored->sha256;
  record.size = stored->size;
  record.created_ms = WallMs();
  DescribeImage(&record);
  if (Status added = catalog_.Add(record); !added.ok()) return call.Fail(added);
  metrics_->uploads_completed.Inc();
  call.Json(200, {{"attachment", AttachmentJson(record, true)}});
}

void FileService::DescribeImage(AttachmentRecord* record) {
  if (record->size > config_.max_image_bytes) return;
  const std::string key = attach::AttachmentKey(record->sha256);
  auto head = store_->Get(key, {0, 16}, 16);
  if (!head.ok() || media::SniffImageFormat(*head).empty()) return;
  auto bytes = store_->Get(key, {}, config_.max_image_bytes);
  if (!bytes.ok()) return;
  media::ImageLimits limits;
  limits.max_pixels = config_.max_image_pixels;
  limits.timeout_ms = config_.thumbnail_timeout_ms;
  auto thumb = media::MakeThumbnail(*bytes, limits);
  if (!thumb.ok()) {
    metrics_->thumbnails_refused.Inc();
    spdlog::info("attachment {}: kept as a file, no thumbnail: {}", record->id,
                 thumb.status().ToString());
    return;
  }
  // The same bytes make the same thumbnail: one per content address.
  if (Status put = store_->Put(attach::ThumbnailKey(record->sha256), thumb->webp); !put.ok()) {
    spdlog::warn("attachment {}: thumbnail not stored: {}", record->id, put.ToString());
    return;
  }
  metrics_->thumbnails.Inc();
  record->image = true;
  record->width = thumb->width;
  record->height = thumb->height;
  record->preview = Base64(thumb->preview_jpeg);
}

void FileService::AttachmentRequest(Call& call) {
  std::string rest = call.req.path.substr(std::string(kAttachments).size());
  std::string id = rest, what;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    id = rest.substr(0, slash);
    what = rest.substr(slash + 1);
  }
  if (!what.empty() && what != "thumbnail" && what != "info") {
    return call.Error(404, "not_found", "no such endpoint");
  }
  auto record = catalog_.Get(id);
  if (!record.ok()) return call.Fail(record.status());
  // Current members only; before it is sent, its owner only.
  if (auto member = core_.conversations().Get(call.who.user_id, record->conv); !member.ok()) {
    return call.Fail(member.status());
  }
  if (record->refs.empty() && record->owner != call.who.user_id) {
    return call.Error(404, "not_found", "no attachment '" + id + "'");
  }
  if (what == "info") return call.Json(200, AttachmentJson(*record, true));
  if (what == "thumbnail" && !record->image) {
    return call.Error(404, "not_found", "attachment '" + id + "' has no thumbnail");
  }
  SendBytes(call, *record, what == "thumbnail");
}

void FileService::SendBytes(Call& call, const AttachmentRecord& record, bool thumbnail) {
  const std::string key =
      thumbnail ? attach::ThumbnailKey(record.sha256) : attach::AttachmentKey(record.sha256);
  const std::string type = thumbnail ? "image/webp" : SafeContentType(record.mime);
  const std::string disposition =
      ContentDisposition(ShownInline(type), thumbnail ? record.name + ".thumb.webp" : record.name);
  auto common_headers = [&](RouteReply& reply) {
    reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
    reply.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
    reply.headers.emplace_back("X-Request-Id", call.request_id);
  };
  if (auto url =
          store_->PresignGet(key, std::chrono::seconds(config_.presign_ttl_s), type, disposition)) {
    RouteReply reply{302, "", "text/plain; charset=utf-8"};
    reply.headers.emplace_back("Location", *url);
    reply.headers.emplace_back("Cache-Control", "no-store");
    common_headers(reply);
    return call.reply(std::move(reply));
  }
  auto info = store_->Head(key);
  if (!info.ok()) return call.Fail(info.status());
  if (!*info) return call.Error(404, "not_found", "the bytes of '" + record.id + "' are gone");
  const uint64_t size = (*info)->size;
  bool unsatisfiable = false;
  auto span = ParseRange(call.req.Header("Range"), size, &unsatisfiable);
  if (unsatisfiable) {
    RouteReply reply =
        ErrorReply(416, "range_not_satisfiable", "the file has " + std::to_string(size) + " bytes",
                   call.request_id);
    reply.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    return call.reply(std::move(reply));
  }
  const ByteSpan body = span.value_or(ByteSpan{0, size});
  RouteReply reply{span ? 206 : 200, "", type};
  common_headers(reply);
  reply.headers.emplace_back("Content-Disposition", disposition);
  reply.headers.emplace_back("Accept-Ranges", "bytes");
  reply.headers.emplace_back("ETag", "\"" + record.sha256 + (thumbnail ? "-thumb\"" : "\""));
  reply.headers.emplace_back("Cache-Control", "private, max-age=86400");
  if (span) {
    reply.headers.emplace_back("Content-Range", "bytes " + std::to_string(body.offset) + "-" +
                                                    std::to_string(body.offset + body.length - 1) +
                                                    "/" + std::to_string(size));
  }
  auto source = std::make_shared<BodySource>();
  source->length = body.length;
  source->read = [store = store_.get(), key, start = body.offset,
                  counter = &metrics_->download_bytes](uint64_t offset,
                                                       size_t max) -> Result<std::string> {
    auto piece = store->Get(key, {start + offset, max}, max);
    if (piece.ok()) counter->Inc(piece->size());
    return piece;
  };
  reply.stream = std::move(source);
  call.reply(std::move(reply));
}

Result<AttachmentLinks::Linked> FileService::Link(const Identity& who, ConvId conv,
                                                  MessageKind kind, std::string_view body,
                                                  const std::string& client_msg_id) {
  json j = json::parse(body, nullptr, false);
  // The shape is checked again with the body's other rules when the send goes on; here
  // before any record is read or referenced.
  if (j.is_discarded() || !j.is_object() || !j.contains("attachments") ||
      !j["attachments"].is_array() || j["attachments"].empty() || j["attachments"].size() > 10) {
    return InvalidArgument("a file or image body needs \"attachments\": 1-10 attachment ids");
  }
  std::vector<AttachmentRecord> records;
  for (const json& id : j["attachments"]) {
    if (!id.is_string()) return InvalidArgument("attachment ids are strings");
    PARLEY_ASSIGN_OR_RETURN(AttachmentRecord r, catalog_.Get(id.get<std::string>()));
    if (r.owner != who.user_id) return InvalidArgument("attachment '" + r.id + "' is not yours");
    if (r.conv != conv) {
      return InvalidArgument("attachment '" + r.id + "' was uploaded for conversation " +
                             std::to_string(r.conv));
    }
    if (kind == MessageKind::kImage && !r.image) {
      return InvalidArgument("attachment '" + r.id + "' is not an image: send it as a file");
    }
    records.push_back(std::move(r));
  }
  Linked linked;
  json described = json::array();
  for (const AttachmentRecord& r : records) {
    const bool had = std::find(r.refs.begin(), r.refs.end(), client_msg_id) != r.refs.end();
    auto referenced = catalog_.Reference(r.id, client_msg_id);
    if (!referenced.ok()) {
      Unlink(client_msg_id, linked.added);
      return referenced.status();
    }
    if (!had) linked.added.push_back(r.id);
    described.push_back(AttachmentJson(r, r.image));
  }
  json stored = {{"attachments", std::move(described)}};
  if (j.contains("caption")) stored["caption"] = j["caption"];
  linked.stored_body = stored.dump(-1, ' ', false, json::error_handler_t::replace);
  return linked;
}

void FileService::Unlink(const std::string& client_msg_id, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  auto job = [this, client_msg_id, ids] {
    for (const std::string& id : ids) {
      if (Status st = catalog_.Unreference(id, client_msg_id); !st.ok()) {
        spdlog::warn("attachment {}: reference {} not removed: {}", id, client_msg_id,
                     st.ToString());
      }
    }
  };
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_) return pool_->Submit(std::move(job));
  }
  job();  // stopped: the core is committing its last writes
}

void FileService::OnRecalled(const MessageRecord& before) {
  if (!HasAttachments(before.kind)) return;
  json j = json::parse(before.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("attachments")) return;
  std::vector<std::string> ids;
  for (const json& a : j["attachments"]) {
    if (a.is_object() && a.contains("id") && a["id"].is_string()) {
      ids.push_back(a["id"].get<std::string>());
    }
  }
  Unlink(before.client_msg_id, ids);
}

Result<attach::CollectStats> FileService::CollectNow() {
  PARLEY_ASSIGN_OR_RETURN(size_t uploads, uploads_.CollectExpired());
  attach::CollectPolicy policy;
  policy.unsent_ttl_ms = config_.upload_ttl_ms;
  policy.retention_ms = config_.retention_ms;
  PARLEY_ASSIGN_OR_RETURN(attach::CollectStats stats, catalog_.Collect(policy));
  metrics_->collected.Inc(uploads + stats.attachments);
  if (uploads + stats.attachments > 0) {
    spdlog::info(
        "attachments: collected {} unfinished uploads, {} attachments, {} files ({} bytes)",
        uploads, stats.attachments, stats.blobs, stats.bytes);
  }
  return stats;
}

void FileService::CollectLoop() {
  std::unique_lock<std::mutex> lock(collect_mu_);
  while (!stopping_) {
    collect_cv_.wait_for(lock, std::chrono::milliseconds(config_.collect_every_ms),
                         [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (auto r = CollectNow(); !r.ok()) {
      spdlog::warn("attachments: the collector failed: {}", r.status().ToString());
    }
    lock.lock();
  }
}

}  // namespace parley::files
