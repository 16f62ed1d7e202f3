// Server URLs of the form ws://HOST[:PORT][/PATH], as users type them on the command line
// and in config files. Only plain ws:// is supported: parleyd speaks no TLS itself (a
// TLS-terminating proxy in front of it is the deployment story), so "wss://" is refused
// with a clear message instead of failing later in the handshake.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::client {

struct Url {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  uint16_t port = 7800;
  std::string path = "/ws";

  // "host:port" for the HTTP Host header (IPv6 literals in brackets).
  std::string HostHeader() const;
  // The canonical form, ws://host:port/path.
  std::string ToString() const;
};

// "ws://HOST:PORT[/path]"; the port defaults to 7800 and the path to /ws.
Result<Url> ParseUrl(std::string_view url);

}  // namespace parley::client
