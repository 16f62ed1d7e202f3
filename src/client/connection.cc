#include "client/connection.h"

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

#include "protocol/decode.h"

namespace parley::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

Result<Url> ParseUrl(std::string_view url) {
  Url out;
  constexpr std::string_view kScheme = "ws://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status(Code::kInvalidArgument, "server URL must start with ws://");
  }
  url.remove_prefix(kScheme.size());
  auto slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  if (slash != std::string_view::npos && url.size() > slash + 1)
    out.path = std::string(url.substr(slash));
  auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(hostport);
  } else {
    out.host = std::string(hostport.substr(0, colon));
    std::string port(hostport.substr(colon + 1));
    char* end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p == 0 || p > 65535) {
      return Status(Code::kInvalidArgument, "bad port in server URL");
    }
    out.port = static_cast<uint16_t>(p);
  }
  if (out.host.empty()) return Status(Code::kInvalidArgument, "no host in server URL");
  return out;
}

struct EventLoop::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::vector<std::thread> threads;
};

EventLoop::EventLoop(size_t threads) : impl_(std::make_unique<Impl>()) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Stop() {
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

struct Connection::Impl {
  Impl(EventLoop& loop, ConnectOptions opts)
      : strand(asio::make_strand(loop.impl().io)),
        ws(strand),
        timer(strand),
        options(std::move(opts)) {}

  struct Outgoing {
    std::string data;
    bool binary;
  };

  asio::strand<asio::io_context::executor_type> strand;
  websocket::stream<tcp::socket> ws;
  asio::steady_timer timer;
  ConnectOptions options;
  Url url;
  beast::flat_buffer buffer;
  std::deque<Outgoing> outbox;
  bool writing = false;
  bool is_open = false;
  bool closed = false;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, ReplyHandler> pending;
  FrameHandler on_push, on_other;
  CloseHandler on_close;
};

std::shared_ptr<Connection> Connection::Create(EventLoop& loop, ConnectOptions options) {
  return std::shared_ptr<Connection>(
      new Connection(std::make_unique<Impl>(loop, std::move(options))));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

void Connection::SetPushHandler(FrameHandler h) { impl_->on_push = std::move(h); }
void Connection::SetOtherFrameHandler(FrameHandler h) { impl_->on_other = std::move(h); }
void Connection::SetCloseHandler(CloseHandler h) { impl_->on_close = std::move(h); }
bool Connection::open() const { return impl_->is_open && !impl_->closed; }

namespace {

// Fails every waiting call and reports the close once.
void Shut(const std::shared_ptr<Connection>& self, Connection::Impl& m, int code) {
  if (m.closed) return;
  m.closed = true;
  m.is_open = false;
  m.timer.cancel();
  auto pending = std::move(m.pending);
  m.pending.clear();
  for (auto& [id, handler] : pending) {
    handler(Status(Code::kUnavailable, "connection closed"), -1);
  }
  beast::error_code ignored;
  m.ws.next_layer().close(ignored);
  if (m.on_close) m.on_close(code);
  (void)self;
}

void ReadLoop(const std::shared_ptr<Connection>& self, Connection::Impl& m);

void Dispatch(Connection::Impl& m, std::string frame) {
  auto header = DecodeHeader(frame);
  if (header.ok() && header->has_id && !header->is_push) {
    auto it = m.pending.find(header->id);
    if (it != m.pending.end()) {
      auto handler = std::move(it->second);
      m.pending.erase(it);
      if (header->ok) {
        handler(std::move(frame), -1);
      } else {
        int64_t retry = -1;
        Status st = DecodeError(frame, &retry);
        handler(st, retry);
      }
      return;
    }
  }
  if (header.ok() && header->is_push) {
    if (m.on_push) m.on_push(std::move(frame));
    return;
  }
  if (m.on_other) m.on_other(std::move(frame));
}

void ReadLoop(const std::shared_ptr<Connection>& self, Connection::Impl& m) {
  m.ws.async_read(m.buffer, [self, &m](beast::error_code ec, size_t) {
    if (ec) {
      int code = m.ws.reason().code;
      return Shut(self, m, code);
    }
    std::string frame = beast::buffers_to_string(m.buffer.data());
    m.buffer.consume(m.buffer.size());
    Dispatch(m, std::move(frame));
    if (!m.closed) ReadLoop(self, m);
  });
}

void WriteLoop(const std::shared_ptr<Connection>& self, Connection::Impl& m) {
  if (m.writing || m.outbox.empty() || !m.is_open || m.closed) return;
  m.writing = true;
  m.ws.binary(m.outbox.front().binary);
  m.ws.async_write(asio::buffer(m.outbox.front().data), [self, &m](beast::error_code ec, size_t) {
    m.writing = false;
    if (ec) return Shut(self, m, 0);
    m.outbox.pop_front();
    WriteLoop(self, m);
  });
}

void Enqueue(const std::shared_ptr<Connection>& self, Connection::Impl& m, std::string data,
             bool binary) {
  asio::post(m.strand, [self, &m, data = std::move(data), binary]() mutable {
    if (m.closed) return;
    m.outbox.push_back({std::move(data), binary});
    WriteLoop(self, m);
  });
}

}  // namespace

void Connection::Connect(std::function<void(Status)> done) {
  auto self = shared_from_this();
  Impl& m = *impl_;
  asio::post(m.strand, [self, &m, done = std::move(done)]() mutable {
    auto url = ParseUrl(m.options.url);
    if (!url.ok()) return done(url.status());
    m.url = *url;
    beast::error_code ec;
    auto address = asio::ip::make_address(m.url.host == "localhost" ? "127.0.0.1" : m.url.host, ec);
    if (ec)
      return done(Status(Code::kInvalidArgument, "server host must be an IP address or localhost"));
    tcp::endpoint endpoint(address, m.url.port);
    auto& sock = m.ws.next_layer();
    sock.open(endpoint.protocol(), ec);
    if (!ec && !m.options.bind_address.empty()) {
      auto local = asio::ip::make_address(m.options.bind_address, ec);
      if (!ec) sock.bind(tcp::endpoint(local, 0), ec);
    }
    if (ec) return done(Status(Code::kUnavailable, "socket: " + ec.message()));
    auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
    m.timer.expires_after(std::chrono::milliseconds(m.options.connect_timeout_ms));
    m.timer.async_wait([self, &m](beast::error_code tec) {
      if (!tec && !m.is_open) {
        beast::error_code ignored;
        m.ws.next_layer().close(ignored);
      }
    });
    sock.async_connect(endpoint, [self, &m, shared_done](beast::error_code cec) {
      if (cec) {
        m.timer.cancel();
        return (*shared_done)(Status(Code::kUnavailable, "connect: " + cec.message()));
      }
      beast::error_code ignored;
      m.ws.next_layer().set_option(tcp::no_delay(true), ignored);
      if (m.options.permessage_deflate) {
        websocket::permessage_deflate pmd;
        pmd.client_enable = true;
        m.ws.set_option(pmd);
      }
      m.ws.read_message_max(64 * 1024 * 1024);
      std::string host = m.url.host + ":" + std::to_string(m.url.port);
      m.ws.async_handshake(host, m.url.path, [self, &m, shared_done](beast::error_code hec) {
        m.timer.cancel();
        if (hec) return (*shared_done)(Status(Code::kUnavailable, "handshake: " + hec.message()));
        m.is_open = true;
        ReadLoop(self, m);
        WriteLoop(self, m);
        (*shared_done)(Status::Ok());
      });
    });
  });
}

void Connection::Call(std::string_view op, const std::function<void(JsonWriter&)>& fields,
                      ReplyHandler done) {
  auto self = shared_from_this();
  Impl& m = *impl_;
  JsonWriter w;
  w.BeginObject().Key("op").String(op);
  if (fields) fields(w);
  std::string body = w.Take();  // completed with the id on the strand
  asio::post(m.strand, [self, &m, body = std::move(body), done = std::move(done)]() mutable {
    if (m.closed || !m.is_open) return done(Status(Code::kUnavailable, "not connected"), -1);
    uint64_t id = ++m.next_id;
    m.pending.emplace(id, std::move(done));
    body += ",\"id\":" + std::to_string(id) + "}";
    m.outbox.push_back({std::move(body), false});
    WriteLoop(self, m);
  });
}

void Connection::SendText(std::string frame) {
  Enqueue(shared_from_this(), *impl_, std::move(frame), false);
}
void Connection::SendBinary(std::string frame) {
  Enqueue(shared_from_this(), *impl_, std::move(frame), true);
}

void Connection::Close() {
  auto self = shared_from_this();
  Impl& m = *impl_;
  asio::post(m.strand, [self, &m] {
    if (m.closed) return;
    if (!m.is_open) return Shut(self, m, 0);
    m.ws.async_close(websocket::close_code::normal,
                     [self, &m](beast::error_code) { Shut(self, m, 1000); });
  });
}

}  // namespace parley::client
