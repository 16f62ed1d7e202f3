// The client's address of a connection: the TCP peer, or — when the peer is a trusted
// proxy such as the cluster's HAProxy ([server] trusted_proxies) — the address that proxy
// put in X-Forwarded-For on the WebSocket upgrade. Per-address limits (connections open,
// handshake rate, registrations, failed logins) and logs use it, so that behind a load
// balancer each client keeps its own budget instead of all sharing the balancer's.
//
// X-Forwarded-For is read from the right: each proxy appends the address it received the
// request from, so the rightmost entry that is not itself a trusted proxy is the first
// address no trusted party vouches for beyond. Entries further left are the client's to
// invent and are never used.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace parley {

struct GatewayContext;

// The key per-address limits count under: the IPv4 address (also for v4-mapped IPv6), or
// the /64 prefix of an IPv6 address (one subscriber's allocation).
std::string AddressKey(const boost::asio::ip::address& address);

class TrustedProxies {
 public:
  // Entries are addresses ("127.0.0.1", "::1") or CIDR blocks ("10.0.0.0/8", "fd00::/8").
  static Result<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return blocks_.empty(); }
  bool Trusts(const boost::asio::ip::address& address) const;
  // The client behind `forwarded_for` (the X-Forwarded-For values, comma-separated, several
  // headers joined by commas); nullopt when it names no valid address (the caller keeps
  // the peer's).
  std::optional<boost::asio::ip::address> ClientOf(std::string_view forwarded_for) const;

 private:
  struct Block {
    boost::asio::ip::address base;
    int prefix = 0;  // bits
  };
  std::vector<Block> blocks_;
};

// Admission of one more connection from `key` (AddressLimits, and the cluster-wide
// handshake rate when ctx.peers is set). On refusal: why (for the log) and after how many
// seconds to retry.
struct AddressAdmission {
  bool admitted = true;
  const char* why = "";
  int64_t retry_after_s = 0;
};
AddressAdmission AdmitAddress(GatewayContext& ctx, const std::string& key);

}  // namespace parley
