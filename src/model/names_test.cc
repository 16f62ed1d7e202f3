#include "model/names.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

// Every name reads back as the value that wrote it, and nothing else parses.
TEST(ModelNames, EveryNameRoundTrips) {
  for (Role r : {Role::kMember, Role::kAdmin, Role::kOwner}) EXPECT_EQ(ParseRole(RoleName(r)), r);
  for (MessageKind k :
       {MessageKind::kText, MessageKind::kCustom, MessageKind::kFile, MessageKind::kImage})
    EXPECT_EQ(ParseMessageKind(MessageKindName(k)), k);
  for (ConvKind k : {ConvKind::kDirect, ConvKind::kGroup})
    EXPECT_EQ(ParseConvKind(ConvKindName(k)), k);
  int types = 0;
  for (int t = 1; t <= static_cast<int>(EventType::kWithheld); ++t, ++types) {
    auto type = static_cast<EventType>(t);
    EXPECT_EQ(ParseEventType(EventTypeName(type)), type) << t;
  }
  EXPECT_EQ(types, 9);
}

TEST(ModelNames, UnknownAndMiscasedNamesDoNotParse) {
  EXPECT_EQ(ParseRole("Owner"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_EQ(ParseMessageKind("video"), std::nullopt);
  EXPECT_EQ(ParseMessageKind("File"), std::nullopt);
  EXPECT_EQ(ParseConvKind("channel"), std::nullopt);
  EXPECT_EQ(ParseEventType("unknown"), std::nullopt);
}

}  // namespace
}  // namespace parley
