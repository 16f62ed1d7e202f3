#include "gateway/client_address.h"

#include <algorithm>
#include <charconv>

#include "common/clock.h"
#include "gateway/cluster_peers.h"
#include "gateway/gateway_context.h"
#include "limits/address_limits.h"

namespace parley {

namespace asio = boost::asio;

namespace {

// An IPv4 address as its v4-mapped IPv6 form, so one comparison covers both families.
asio::ip::address_v6 AsV6(const asio::ip::address& a) {
  if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  return a.to_v6();
}

bool InBlock(const asio::ip::address_v6& a, const asio::ip::address_v6& base, int prefix) {
  const auto x = a.to_bytes(), y = base.to_bytes();
  int bits = prefix;
  for (size_t i = 0; i < x.size() && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((x[i] & mask) != (y[i] & mask)) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<asio::ip::address> ParseAddress(std::string_view text) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

}  // namespace

std::string AddressKey(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  if (address.is_v4()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& entry : entries) {
    std::string_view text = entry;
    const size_t slash = text.find('/');
    auto base = ParseAddress(text.substr(0, slash));
    if (!base) {
      return InvalidArgument("trusted proxy '" + entry + "' is not an address or CIDR block");
    }
    const int family_bits = base->is_v4() ? 32 : 128;
    int prefix = family_bits;
    if (slash != std::string_view::npos) {
      std::string_view bits = text.substr(slash + 1);
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() || prefix < 0 ||
          prefix > family_bits) {
        return InvalidArgument("trusted proxy '" + entry + "' has a bad prefix length");
      }
    }
    out.blocks_.push_back(Block{*base, base->is_v4() ? prefix + 96 : prefix});
  }
  return out;
}

bool TrustedProxies::Trusts(const asio::ip::address& address) const {
  const auto a = AsV6(address);
  return std::any_of(blocks_.begin(), blocks_.end(),
                     [&](const Block& b) { return InBlock(a, AsV6(b.base), b.prefix); });
}

std::optional<asio::ip::address> TrustedProxies::ClientOf(std::string_view forwarded_for) const {
  std::optional<asio::ip::address> leftmost_valid;
  while (!forwarded_for.empty()) {
    const size_t comma = forwarded_for.rfind(',');
    std::string_view entry =
        Trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    auto address = ParseAddress(entry);
    // Garbage where an address should be: nothing to its left can be trusted either.
    if (!address) return leftmost_valid;
    if (!Trusts(*address)) return address;
    leftmost_valid = address;  // a chain of trusted proxies: keep walking left
  }
  return leftmost_valid;
}

AddressAdmission AdmitAddress(GatewayContext& ctx, const std::string& key) {
  // Across the cluster's nodes first (a client spreading over them meets one budget), then
  // TryOpen, which holds a slot for an admitted connection.
  if (ctx.peers) {
    if (int64_t wait_ms = ctx.peers->Admit(ClusterPeers::Limit::kConnect, key); wait_ms > 0) {
      return {false, "the cluster's handshake rate per IP exceeded by a client",
              (wait_ms + 999) / 1000};
    }
  }
  auto admission = ctx.address_limits->TryOpen(key, MonotonicNanos() / 1000);
  if (admission.verdict == AddressLimits::Verdict::kTooManyOpen) {
    return {false, "limits.max_connections_per_ip reached by a client", 5};
  }
  if (admission.verdict == AddressLimits::Verdict::kTooFast) {
    return {false, "limits.handshake_rate_per_ip exceeded by a client",
            (admission.retry_after_us + 999'999) / 1'000'000};
  }
  return {};
}

}  // namespace parley
