// StoreFixture: a Store in a fresh temporary directory, opened through a test::StoreKind,
// with helpers to write and scan records. The base of the Store conformance suite
// (store_conformance_test.cc, run on every registered store) and of the tests that belong
// to one implementation (rocks_store_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"
#include "tests/support/store_kinds.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley {

class StoreFixture : public ::testing::Test {
 protected:
  explicit StoreFixture(test::StoreKind kind) : kind_(std::move(kind)) {}

  void SetUp() override { Open(); }
  void TearDown() override { store_.reset(); }
  // Opens the store on dir_ (again, after Close()).
  void Open() {
    auto r = kind_.open(dir_.path());
    ASSERT_TRUE(r.ok()) << kind_.name << ": " << r.status().ToString();
    store_ = std::move(r).value();
  }
  void Close() { store_.reset(); }
  void Reopen() {
    Close();
    Open();
  }
  void Apply(WriteSet ws, Durability d = Durability::kBuffered) {
    Status st = store_->Apply(ws, d);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  static MessageRecord Msg(ConvId conv, Seq seq) {
    MessageRecord m;
    m.conv_id = conv;
    m.seq = seq;
    m.msg_id = conv * 100000 + seq;
    m.sender = 1;
    m.sender_device = "d";
    m.client_msg_id = test::Cat("c", conv, ".", seq);
    m.body = test::Cat("body ", seq);
    m.server_ms = 1000 + static_cast<int64_t>(seq);
    return m;
  }
  static InboxEvent Event(UserId user, Seq user_seq) {
    InboxEvent e;
    e.user_id = user;
    e.user_seq = user_seq;
    e.type = EventType::kMessage;
    e.conv_id = 3;
    e.conv_seq = user_seq;
    e.actor = 2;
    e.ms = 5000 + static_cast<int64_t>(user_seq);
    e.gseq = user_seq * 10;
    return e;
  }
  std::vector<Seq> MessageSeqs(ConvId conv, Seq from, bool forward, size_t limit) {
    auto r = store_->ScanMessages(conv, from, forward, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<Seq> out;
    if (!r.ok()) return out;
    for (const auto& m : *r) {
      EXPECT_EQ(m.conv_id, conv);
      EXPECT_EQ(m.body, test::Cat("body ", m.seq));
      out.push_back(m.seq);
    }
    return out;
  }
  std::vector<Seq> InboxSeqs(UserId user, Seq after, size_t limit) {
    auto r = store_->ScanInbox(user, after, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<Seq> out;
    if (!r.ok()) return out;
    for (const auto& e : *r) {
      EXPECT_EQ(e.user_id, user);
      EXPECT_EQ(e.gseq, e.user_seq * 10);
      out.push_back(e.user_seq);
    }
    return out;
  }
  static std::vector<Seq> Range(Seq from, Seq to) {  // inclusive, either direction
    std::vector<Seq> out;
    if (from <= to) {
      for (Seq s = from; s <= to; ++s) out.push_back(s);
    } else {
      for (Seq s = from; s >= to; --s) out.push_back(s);
    }
    return out;
  }

  test::StoreKind kind_;
  test::TempDir dir_{"parley-store-test-"};
  std::unique_ptr<Store> store_;
};

}  // namespace parley
