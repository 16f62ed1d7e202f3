// The backup Target over a BlobStore: a local directory (the default) or S3.
#include <filesystem>

#include "backup/target.h"
#include "blob/blob_store.h"
#include "blob/s3_blob_store.h"
#include "common/files.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;

class BlobTarget final : public Target {
 public:
  explicit BlobTarget(std::unique_ptr<blob::BlobStore> store) : store_(std::move(store)) {}

  std::string Describe() const override { return store_->Describe(); }

  Status Put(const std::string& name, std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    return store_->Put(name, data);
  }

  Result<std::string> Get(const std::string& name, size_t max_bytes) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    auto got = store_->Get(name, {}, max_bytes);
    if (got.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "missing from the backup target: " + name);
    }
    return got;
  }

  Result<bool> Exists(const std::string& name) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    PARLEY_ASSIGN_OR_RETURN(auto info, store_->Head(name));
    return info.has_value();
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    return store_->List(prefix);
  }

  Status Remove(const std::string& name) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    return store_->Delete(name);
  }

  Status CleanUp() override { return store_->CleanUp(); }

 private:
  std::unique_ptr<blob::BlobStore> store_;
};

}  // namespace

Result<std::unique_ptr<Target>> OpenDirTarget(const std::string& dir) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir));
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status(Code::kInvalidArgument, dir + " is not a directory");
  }
  PARLEY_ASSIGN_OR_RETURN(auto store, blob::OpenLocalBlobStore(dir));
  return std::unique_ptr<Target>(new BlobTarget(std::move(store)));
}

Result<std::unique_ptr<Target>> OpenS3Target(s3::S3Config config, std::string prefix) {
  PARLEY_ASSIGN_OR_RETURN(auto store, blob::OpenS3BlobStore(std::move(config), std::move(prefix)));
  return std::unique_ptr<Target>(new BlobTarget(std::move(store)));
}

Result<std::unique_ptr<Target>> OpenTarget(const std::string& spec, const s3::S3Config& s3) {
  constexpr std::string_view kScheme = "s3://";
  if (!spec.starts_with(kScheme)) return OpenDirTarget(spec);
  const std::string rest = spec.substr(kScheme.size());
  const size_t slash = rest.find('/');
  s3::S3Config config = s3;
  config.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  if (config.endpoint.empty()) {
    return InvalidArgument("backup target " + spec + " needs [s3] endpoint");
  }
  return OpenS3Target(std::move(config), std::move(prefix));
}

Status SyncPath(const std::filesystem::path& p, bool directory) {
  return FsyncPath(p.string(), directory);
}

}  // namespace parley::backup
