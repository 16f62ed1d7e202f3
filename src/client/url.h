// Server URLs of the form ws[s]://HOST[:PORT][/PATH], as users type them on the command line
// and in config files. wss:// means TLS (parleyd's own [tls] listener, or a TLS-terminating
// proxy in front of it); ws:// is plain TCP.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::client {

struct Url {
  std::string host;      // a name or an IP literal (IPv6 without brackets)
  uint16_t port = 7800;  // ws:// default; wss:// defaults to 443, like browsers
  std::string path = "/ws";
  bool tls = false;  // wss://

  // "host:port" for the HTTP Host header (IPv6 literals in brackets).
  std::string HostHeader() const;
  // The canonical form, ws[s]://host:port/path.
  std::string ToString() const;
};

constexpr uint16_t kDefaultWsPort = 7800;
constexpr uint16_t kDefaultWssPort = 443;

// "ws://HOST[:PORT][/path]" or "wss://…"; the port defaults to 7800 (ws) or 443 (wss) and
// the path to /ws. kInvalidArgument with a message naming the problem otherwise.
Result<Url> ParseUrl(std::string_view url);

// The same for the HTTP endpoints (/admin/…, /metrics): also accepts http:// (as ws://)
// and https:// (as wss://), which name the same listener.
Result<Url> ParseHttpUrl(std::string_view url);

}  // namespace parley::client
