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
       {"", "127.0.0.1:7800", "http://h:1", "wss:/h:1", "ws://", "ws://:7800",
        "ws://h:", "ws://h:0", "ws://h:65536", "ws://h:12ab", "ws://h:-1", "ws://us er@h:1"}) {
    auto u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseUrl("ftp://h").status().message().find("wss://"), std::string::npos);
}

TEST(UrlTest, Wss) {
  auto u = ParseUrl("wss://chat.example.org/parley/ws");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "chat.example.org");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/parley/ws");
  EXPECT_EQ(u->ToString(), "wss://chat.example.org:443/parley/ws");
  EXPECT_EQ(ParseUrl("wss://h:7800")->port, 7800);
  EXPECT_FALSE(ParseUrl("ws://h")->tls);
  EXPECT_FALSE(ParseUrl("wss://").ok());
}

TEST(UrlTest, HttpForms) {
  auto u = ParseHttpUrl("https://h:8443");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 8443);
  EXPECT_FALSE(ParseHttpUrl("http://h")->tls);
  EXPECT_EQ(ParseHttpUrl("http://h")->port, 7800);
  EXPECT_TRUE(ParseHttpUrl("wss://h")->tls);
  EXPECT_FALSE(ParseHttpUrl("ftp://h").ok());
}

}  // namespace
}  // namespace parley::client
