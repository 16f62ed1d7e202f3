#include "client/url.h"

#include <charconv>

namespace parley::client {

std::string Url::HostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::ToString() const { return (tls ? "wss://" : "ws://") + HostHeader() + path; }

Result<Url> ParseUrl(std::string_view url) {
  Url out;
  if (url.substr(0, 5) == "ws://") {
    url.remove_prefix(5);
  } else if (url.substr(0, 6) == "wss://") {
    url.remove_prefix(6);
    out.tls = true;
    out.port = kDefaultWssPort;
  } else {
    return InvalidArgument("server URL must start with ws:// or wss:// (got '" + std::string(url) +
                           "')");
  }
  const size_t slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  if (slash != std::string_view::npos && url.size() > slash + 1) out.path = url.substr(slash);

  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return InvalidArgument("unclosed '[' in server URL");
    out.host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgument("junk after ']' in server URL");
      port = rest.substr(1);
      if (port.empty()) return InvalidArgument("empty port in server URL");
    }
  } else {
    const size_t colon = hostport.rfind(':');
    out.host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return InvalidArgument("empty port in server URL");
    }
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return InvalidArgument("bad port '" + std::string(port) + "' in server URL");
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (out.host.empty()) return InvalidArgument("no host in server URL");
  if (out.host.find_first_of(" /?#@") != std::string::npos) {
    return InvalidArgument("bad host '" + out.host + "' in server URL");
  }
  return out;
}

Result<Url> ParseHttpUrl(std::string_view url) {
  if (url.substr(0, 7) == "http://") return ParseUrl("ws://" + std::string(url.substr(7)));
  if (url.substr(0, 8) == "https://") return ParseUrl("wss://" + std::string(url.substr(8)));
  return ParseUrl(url);
}

}  // namespace parley::client
