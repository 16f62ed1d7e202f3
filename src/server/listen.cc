// ParseListen: "HOST:PORT" for `--listen` and `server.listen`, checked up front so a typo
// is reported as such rather than as a resolver or bind failure later.
#include <arpa/inet.h>

#include <algorithm>

#include "server/config_file.h"

namespace parley {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and hyphens, no label
// starting or ending with a hyphen, 253 characters at most.
bool ValidHostName(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t end = std::min(h.find('.', start), h.size());
    const std::string_view label(h.data() + start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsDigit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-') {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

Status ParseListen(const std::string& host_port, std::string* host, uint16_t* port) {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument("listen address '" + host_port + "' " + why);
  };
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return bad("must be HOST:PORT");
  std::string h = host_port.substr(0, colon);
  const std::string p = host_port.substr(colon + 1);

  // Digits only: strtoul would also take "+80", " 80" and wrap "-1".
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), IsDigit) ||
      std::stoul(p) > 65535) {
    return bad("needs a port in [0, 65535]");
  }

  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    // [IPv6]: the brackets only separate the address from the port.
    h = h.substr(1, h.size() - 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) return bad("has an invalid IPv6 address");
  } else if (!h.empty() &&
             std::all_of(h.begin(), h.end(), [](char c) { return IsDigit(c) || c == '.'; })) {
    // All digits and dots: meant as IPv4, so "10.0.0" or "256.1.1.1" is an error rather
    // than a host name to look up.
    in_addr a4{};
    if (inet_pton(AF_INET, h.c_str(), &a4) != 1) return bad("has an invalid IPv4 address");
  } else if (!ValidHostName(h)) {
    return bad("needs an IPv4 address, [IPv6] address or host name before the port");
  }
  *host = std::move(h);
  *port = static_cast<uint16_t>(std::stoul(p));
  return Status::Ok();
}

}  // namespace parley
