#include "gateway/client_address.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

namespace ip = boost::asio::ip;

TrustedProxies Proxies(std::vector<std::string> entries) {
  auto p = TrustedProxies::Parse(entries);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : TrustedProxies();
}

std::string ClientOf(const TrustedProxies& p, std::string_view xff) {
  auto a = p.ClientOf(xff);
  return a ? a->to_string() : "-";
}

TEST(TrustedProxiesTest, ParsesAddressesAndBlocksOfBothFamilies) {
  auto p = Proxies({"127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"});
  EXPECT_TRUE(p.Trusts(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(p.Trusts(ip::make_address("127.0.0.2")));
  EXPECT_TRUE(p.Trusts(ip::make_address("10.200.3.4")));
  EXPECT_FALSE(p.Trusts(ip::make_address("11.0.0.1")));
  EXPECT_TRUE(p.Trusts(ip::make_address("::ffff:10.1.2.3")));  // v4-mapped
  EXPECT_TRUE(p.Trusts(ip::make_address("fd12::5")));
  EXPECT_TRUE(p.Trusts(ip::make_address("::1")));
  EXPECT_FALSE(p.Trusts(ip::make_address("2001:db8::1")));
  EXPECT_TRUE(TrustedProxies().empty());
}

TEST(TrustedProxiesTest, RefusesWhatIsNotAnAddressOrBlock) {
  for (const char* bad :
       {"", "localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129", "1.2.3.4/-1"}) {
    EXPECT_FALSE(TrustedProxies::Parse({bad}).ok()) << bad;
  }
}

TEST(TrustedProxiesTest, TakesTheRightmostAddressNoTrustedProxyVouchesFor) {
  auto p = Proxies({"127.0.0.1", "10.0.0.0/8"});
  EXPECT_EQ(ClientOf(p, "203.0.113.7"), "203.0.113.7");
  // The client wrote a fake entry; HAProxy appended the real peer.
  EXPECT_EQ(ClientOf(p, "1.1.1.1, 203.0.113.7"), "203.0.113.7");
  // Two proxies of ours in a chain.
  EXPECT_EQ(ClientOf(p, "203.0.113.7, 10.0.0.5"), "203.0.113.7");
  EXPECT_EQ(ClientOf(p, " 2001:db8::9 ,10.1.1.1"), "2001:db8::9");
  // Only proxies: the leftmost of them.
  EXPECT_EQ(ClientOf(p, "10.0.0.9, 10.0.0.5"), "10.0.0.9");
  // Garbage stops the walk: what lies left of it is the client's invention.
  EXPECT_EQ(ClientOf(p, "1.1.1.1, nonsense, 10.0.0.5"), "10.0.0.5");
  EXPECT_EQ(ClientOf(p, "nonsense"), "-");
  EXPECT_EQ(ClientOf(p, ""), "-");
}

TEST(AddressKeyTest, GroupsIpv6By64AndUnmapsIpv4) {
  EXPECT_EQ(AddressKey(ip::make_address("192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(AddressKey(ip::make_address("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(AddressKey(ip::make_address("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
}

}  // namespace
}  // namespace parley
