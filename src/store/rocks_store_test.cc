// RocksStore beyond the Store contract (store_conformance_test.cc has that): opening a
// locked or unusable directory, and data directories written by older versions.
#include "store/rocks_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>

#include "store/store_fixture.h"

namespace parley {
namespace {

class RocksStoreTest : public StoreFixture {
 protected:
  RocksStoreTest() : StoreFixture(test::RocksStoreKind()) {}
};

TEST_F(RocksStoreTest, OpenFailsWhenLockedOrUnusable) {
  auto second = OpenRocksStore(dir_.path());
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kIOError);
  const std::string file = dir_.Sub("not-a-dir");
  std::ofstream(file) << "x";
  auto bad = OpenRocksStore(file);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kIOError);
  // The first store still works.
  WriteSet ws;
  ws.Add(op::PutMessage{Msg(1, 1)});
  Apply(ws);
  EXPECT_TRUE(store_->GetMessage(1, 1).ok());
}

// A data directory written before the invites keyspace existed opens, keeps its data and
// gains the keyspace.
TEST_F(RocksStoreTest, DataDirectoryWithoutTheInvitesKeyspaceOpens) {
  store_.reset();
  std::filesystem::remove_all(dir_.path());
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const char* name :
         {"default", "users", "username_user", "token_device", "user_device", "device_cursor",
          "conversations", "conv_head", "direct_pair", "conv_member", "user_conv", "messages",
          "inbox", "inbox_floor", "read_cursor", "dedup", "changes", "meta"}) {
      descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.path(), descs, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[12], "x", "y").ok());  // inbox
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  Open();
  const std::string digest(32, 'd');
  ASSERT_TRUE(store_->PutInvite(InviteRecord{digest, 1, 0, 5}).ok());
  Reopen();
  EXPECT_TRUE(store_->GetInvite(digest).ok());
}

}  // namespace
}  // namespace parley
