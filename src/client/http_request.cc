// Beast's HTTP client over a private io_context: the operations are asynchronous only so
// that each can have a deadline (Beast's synchronous calls cannot time out); the caller
// blocks in run(). This file is compiled inside connection.cc's translation unit (a CMake
// unity group), which has already paid for Beast.
#include "client/http_request.h"

#include <utility>  // before Asio: g++ 12 in C++20 mode needs it (PLATFORM.md)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <optional>

#include "client/tls_client.h"

namespace parley::client {

namespace {

namespace http_asio = boost::asio;
namespace http_beast = boost::beast;
namespace http = http_beast::http;

// Responses are read whole into memory; this bounds them (a /metrics page is ~100 KiB).
constexpr uint64_t kMaxResponseBodyBytes = uint64_t{1} << 30;

// One request on one connection, driven to completion (or its deadline) by Run().
class HttpExchange {
 public:
  explicit HttpExchange(const HttpRequestSpec& spec)
      : spec_(spec),
        where_(spec.host + ":" + std::to_string(spec.port)),
        timeout_(std::chrono::seconds(spec.timeout_s)),
        tcp_(io_) {}

  Result<HttpResponse> Run() {
    PARLEY_RETURN_IF_ERROR(Connect());
    if (!spec_.tls) return Exchange(tcp_);
    PARLEY_ASSIGN_OR_RETURN(auto* tls, StartTls());
    return Exchange(*tls);
  }

 private:
  // Runs the posted operations until they finish; every one has a deadline on tcp_.
  void Drive() {
    io_.restart();
    io_.run();
  }

  Status Connect() {
    http_asio::ip::tcp::resolver resolver(io_);
    http_beast::error_code ec;
    const auto endpoints = resolver.resolve(spec_.host, std::to_string(spec_.port), ec);
    if (ec || endpoints.empty()) return Status(Code::kUnavailable, "cannot resolve " + spec_.host);
    // Tries each address in turn ("localhost" may give ::1 first).
    tcp_.expires_after(timeout_);
    tcp_.async_connect(endpoints, [&ec](http_beast::error_code e, const auto&) { ec = e; });
    Drive();
    if (ec) return Status(Code::kUnavailable, "cannot connect to " + where_ + ": " + ec.message());
    return Status::Ok();
  }

  Result<http_beast::ssl_stream<http_beast::tcp_stream>*> StartTls() {
    PARLEY_ASSIGN_OR_RETURN(SSL_CTX * raw, SharedClientContext(spec_.ca_file));
    // asio frees the handle it owns, so it gets the reference SharedClientContext took.
    tls_context_.emplace(raw);
    tls_.emplace(std::move(tcp_), *tls_context_);
    PARLEY_RETURN_IF_ERROR(PrepareClientSsl(tls_->native_handle(), spec_.host));
    http_beast::error_code ec;
    http_beast::get_lowest_layer(*tls_).expires_after(timeout_);
    tls_->async_handshake(http_asio::ssl::stream_base::client,
                          [&ec](http_beast::error_code e) { ec = e; });
    Drive();
    if (ec) {
      std::string why = VerifyFailure(tls_->native_handle());
      why = why.empty() ? "TLS handshake failed: " + ec.message()
                        : "certificate rejected: " + why +
                              (spec_.ca_file.empty() ? " (trusted: the system CAs)"
                                                     : " (trusted: " + spec_.ca_file + ")");
      return Status(Code::kUnavailable, where_ + ": " + why);
    }
    return &*tls_;
  }

  template <class Stream>
  Result<HttpResponse> Exchange(Stream& stream) {
    http::request<http::string_body> req;
    req.method_string(spec_.method);
    req.target(spec_.path);
    req.version(11);
    req.set(http::field::host, spec_.host);
    req.set(http::field::connection, "close");
    for (const auto& [name, value] : spec_.headers) req.set(name, value);
    req.body() = spec_.body;
    req.prepare_payload();
    // Content-Length: 0 on a GET too, as before (some proxies want it on every request).
    if (spec_.body.empty()) req.content_length(0);

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    parser.skip(spec_.method == "HEAD");  // a HEAD response announces a body it does not send
    http_beast::flat_buffer buffer;
    // Beast reads only what the buffer holds without growing: room for 64 KiB per read
    // (its maximum) keeps a large body from arriving a few hundred bytes per system call.
    buffer.reserve(64 * 1024);
    http_beast::error_code write_ec, read_ec;
    auto& lowest = http_beast::get_lowest_layer(stream);
    lowest.expires_after(timeout_);
    http::async_write(stream, req, [&](http_beast::error_code ec, size_t) {
      write_ec = ec;
      if (ec) return;
      lowest.expires_after(timeout_);
      http::async_read(stream, buffer, parser,
                       [&](http_beast::error_code e, size_t) { read_ec = e; });
    });
    Drive();
    if (write_ec)
      return Status(Code::kIOError, "send to " + where_ + " failed: " + write_ec.message());
    if (read_ec) {
      return Status(Code::kIOError, "no HTTP response from " + where_ + ": " + read_ec.message());
    }
    // No TLS close_notify exchange: the request said "Connection: close", and waiting for
    // the server's reply to ours would only add a round trip.
    http_beast::error_code ignored;
    lowest.socket().shutdown(http_asio::ip::tcp::socket::shutdown_both, ignored);
    HttpResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(parser.get().body());
    return out;
  }

  const HttpRequestSpec& spec_;
  const std::string where_;
  const std::chrono::seconds timeout_;
  http_asio::io_context io_;
  http_beast::tcp_stream tcp_;
  std::optional<http_asio::ssl::context> tls_context_;
  std::optional<http_beast::ssl_stream<http_beast::tcp_stream>> tls_;
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (http_beast::iequals(key, http_beast::string_view(name.data(), name.size()))) return value;
  }
  return {};
}

Result<HttpResponse> HttpRequest(const HttpRequestSpec& spec) { return HttpExchange(spec).Run(); }

}  // namespace parley::client
