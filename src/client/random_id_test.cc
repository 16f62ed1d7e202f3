// client_msg_id values: valid for the protocol (printable ASCII, ≤ 64) and unique.
#include "client/random_id.h"

#include <gtest/gtest.h>

#include <set>

namespace parley::client {
namespace {

TEST(RandomIdTest, WellFormedAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewClientMsgId();
    ASSERT_EQ(id.size(), 24u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

}  // namespace
}  // namespace parley::client
