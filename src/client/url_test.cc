// ParseUrl: the forms users type for --server / PARLEY_SERVER.
#include "client/url.h"

#include <gtest/gtest.h>

namespace parley::client {
namespace {

TEST(UrlTest, DefaultsPortAndPath) {
  auto u = ParseUrl("ws://127.0.0.1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 7800);
  EXPECT_EQ(u->path, "/ws");
  EXPECT_EQ(u->ToString(), "ws://127.0.0.1:7800/ws");
}

TEST(UrlTest, ExplicitPortAndPath) {
  auto u = ParseUrl("ws://chat.example.org:9000/parley/ws");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "chat.example.org");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->path, "/parley/ws");
  EXPECT_EQ(u->HostHeader(), "chat.example.org:9000");
  // A bare trailing slash keeps the default path.
  EXPECT_EQ(ParseUrl("ws://h:1/")->path, "/ws");
}

TEST(UrlTest, Ipv6Literals) {
  auto u = ParseUrl("ws://[::1]:7801/ws");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7801);
  EXPECT_EQ(u->HostHeader(), "[::1]:7801");
  EXPECT_EQ(ParseUrl("ws://[::1]")->port, 7800);
  EXPECT_FALSE(ParseUrl("ws://[::1").ok());
  EXPECT_FALSE(ParseUrl("ws://[::1]x").ok());
}

TEST(UrlTest, RejectsWhatCannotWork) {
  for (const char* bad :
       {"", "127.0.0.1:7800", "http://h:1", "wss://h:1", "ws://", "ws://:7800",
        "ws://h:", "ws://h:0", "ws://h:65536", "ws://h:12ab", "ws://h:-1", "ws://us er@h:1"}) {
    auto u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseUrl("wss://h").status().message().find("wss"), std::string::npos);
}

}  // namespace
}  // namespace parley::client
