// An HTTP request to the admin endpoints as bytes on the wire: Beast's parser with the
// gateway's limits, then ParseAdminRequest on what it read (method, target, body).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_check.h"
#include "server/admin_request.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t offset = 0;
  // Fed in pieces, as bytes arrive from a socket.
  while (offset < size && !parser.is_done()) {
    const size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
    if (ec == http::error::need_more) break;
    if (ec || used == 0) return 0;
    offset += used;
  }
  if (!parser.is_done()) return 0;
  const auto& req = parser.get();
  const auto method = req.method_string();
  const auto target = req.target();
  auto parsed =
      parley::ParseAdminRequest(std::string_view(method.data(), method.size()),
                                std::string_view(target.data(), target.size()), req.body());
  if (const auto* refused = std::get_if<parley::AdminRefusal>(&parsed)) {
    FUZZ_CHECK(refused->status == 400 || refused->status == 404 || refused->status == 405);
    FUZZ_CHECK(!refused->message.empty());
  } else {
    const auto& ok = std::get<parley::AdminRequest>(parsed);
    if (ok.kind == parley::AdminRequest::Kind::kCreateInvite) {
      FUZZ_CHECK(ok.uses >= 1 && ok.uses <= 1'000'000 && ok.expires_in_s >= 0);
    }
    if (ok.kind == parley::AdminRequest::Kind::kRevokeUser) {
      FUZZ_CHECK(!ok.name.empty() && ok.name.find('/') == std::string::npos);
    }
  }
  return 0;
}
