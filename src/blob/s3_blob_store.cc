#include "blob/s3_blob_store.h"

namespace parley::blob {
namespace {

s3::ByteRange ToS3(ByteRange r) { return s3::ByteRange{r.offset, r.length}; }

// S3 answers a range past the end with InvalidRange (HTTP 416).
Status RangeError(Status st, const std::string& key) {
  if (st.message().find("InvalidRange") != std::string::npos) {
    return Status(Code::kInvalidArgument, "range starts past the end of " + key);
  }
  return st;
}

class S3BlobStore final : public BlobStore {
 public:
  S3BlobStore(std::unique_ptr<s3::S3Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}

  std::string Describe() const override {
    return client_->Describe() + " prefix '" + prefix_ + "'";
  }

  Status Put(const std::string& key, std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->Put(prefix_ + key, data);
  }

  Result<std::string> Get(const std::string& key, ByteRange range, size_t max_bytes) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    auto got = client_->Get(prefix_ + key, ToS3(range), max_bytes);
    if (!got.ok()) return RangeError(got.status(), key);
    return got;
  }

  Status Read(const std::string& key, ByteRange range, const Sink& sink) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return RangeError(client_->Read(prefix_ + key, ToS3(range), sink), key);
  }

  Result<std::optional<BlobInfo>> Head(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_ASSIGN_OR_RETURN(auto info, client_->Head(prefix_ + key));
    if (!info) return std::optional<BlobInfo>();
    return std::optional<BlobInfo>(BlobInfo{info->size});
  }

  Status Delete(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->Delete(prefix_ + key);
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> out;
    std::string token;
    // Bounded: S3 returns each key once; 100,000 pages of 1,000 keys at most.
    for (int page = 0; page < 100000; ++page) {
      PARLEY_ASSIGN_OR_RETURN(s3::ListPage p, client_->List(prefix_ + prefix, token));
      for (auto& [key, size] : p.objects) out.push_back(key.substr(prefix_.size()));
      if (p.next.empty()) return out;
      token = std::move(p.next);
    }
    return Status(Code::kInternal, "S3 listing did not end");
  }

  Result<std::string> StartMultipart(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->CreateMultipart(prefix_ + key);
  }

  Result<std::string> PutPart(const std::string& key, const std::string& upload, int part,
                              std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->UploadPart(prefix_ + key, upload, part, data);
  }

  Status CompleteMultipart(const std::string& key, const std::string& upload,
                           const std::vector<std::string>& parts) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->CompleteMultipart(prefix_ + key, upload, parts);
  }

  Status AbortMultipart(const std::string& key, const std::string& upload) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    return client_->AbortMultipart(prefix_ + key, upload);
  }

  Status CleanUp() override { return Status::Ok(); }  // S3 writes are whole or nothing

  std::optional<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                        std::string_view content_type,
                                        std::string_view disposition) const override {
    if (!CheckKey(key).ok()) return std::nullopt;
    return client_->PresignGet(prefix_ + key, ttl, content_type, disposition);
  }

 private:
  std::unique_ptr<s3::S3Client> client_;
  const std::string prefix_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenS3BlobStore(s3::S3Config config, std::string prefix) {
  if (!prefix.empty() && (prefix.front() == '/' || prefix.back() != '/')) {
    return InvalidArgument("S3 prefix '" + prefix +
                           "' must not start with '/' and must end with '/'");
  }
  PARLEY_ASSIGN_OR_RETURN(auto client, s3::S3Client::Create(std::move(config)));
  return std::unique_ptr<BlobStore>(
      std::make_unique<S3BlobStore>(std::move(client), std::move(prefix)));
}

}  // namespace parley::blob
