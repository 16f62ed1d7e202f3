// RouteTable: which HTTP handler serves a request — one row per path (or path prefix),
// naming the methods it accepts, the listener it is served on, and either a handler or
// the WebSocket upgrade. HttpSession parses the request (Beast) and asks the table; the
// handlers see plain strings, so this file and the handlers need no Beast. A new
// endpoint (attachment upload/download, the web client's static files) is one row in
// BuiltInRoutes.
//
// Thread-safety: the table is built once before the server starts and only read after;
// a handler runs on its connection's network thread and must not block it (hand long
// work to another thread and call `reply` from there).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

#include "gateway/gateway_context.h"
#include "metrics/metrics.h"

namespace parley {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One parsed request, as a handler sees it.
struct RouteRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, as sent
  std::string path;    // target without the query
  std::string authorization;
  std::string body;      // at most the route's max_body_bytes
  HeaderList headers{};  // every header, names as sent

  // The first header named `name` (case-insensitive), empty if none.
  std::string Header(std::string_view name) const;
};

// A response body produced piece by piece (a file download): `read(offset, max)` returns
// the next bytes from `offset`, at most `max` of them and at least one. It runs on the
// connection's network thread, between writes, so it must be quick (a local file read).
struct BodySource {
  uint64_t length = 0;
  std::function<Result<std::string>(uint64_t offset, size_t max)> read;
};

struct RouteReply {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  int64_t retry_after_s = 0;             // > 0: a Retry-After header
  HeaderList headers{};                  // more response headers
  std::shared_ptr<BodySource> stream{};  // set: the body comes from it, `body` unused
};

// Sends the response. Call it exactly once, from any thread; the connection reads no
// further request until then.
using ReplyFn = std::function<void(RouteReply)>;
using RouteHandler = std::function<void(RouteRequest, ReplyFn)>;

// Methods a row accepts, as a bit set. GET implies HEAD (the body is not sent).
enum Method : uint32_t {
  kGet = 1u << 0,
  kHead = 1u << 1,
  kPost = 1u << 2,
  kPut = 1u << 3,
  kDelete = 1u << 4,
  kPatch = 1u << 5,
  kAnyMethod = ~0u,
};
// The bit of an HTTP method name, 0 for one not listed above.
uint32_t MethodBit(std::string_view method);

// Which listener serves a row.
enum class ServedOn {
  kMain,          // the client port only
  kAdminSurface,  // the admin port if one is configured, else the client port
  kEvery,         // every listener
};

struct Route {
  std::string path;  // "/healthz"; with `prefix`, every path that starts with it
  bool prefix = false;
  uint32_t methods = kGet;
  ServedOn served_on = ServedOn::kEvery;
  bool websocket = false;  // the upgrade to a WebSocket session; `handler` unused
  RouteHandler handler;
  // The largest request body the route takes (an attachment part); larger: 413.
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  static constexpr size_t kDefaultMaxBodyBytes = 16 * 1024;
};

class RouteTable {
 public:
  // `admin_listener`: a separate admin port is configured (ServedOn::kAdminSurface).
  explicit RouteTable(bool admin_listener) : admin_listener_(admin_listener) {}

  void Add(Route route);

  // What to do with a request for `path` by `method` on the admin listener or not.
  struct Match {
    const Route* route = nullptr;  // set when status == 0
    int status = 0;                // 0: serve `route`; else 404 or 405 with `error`
    std::string error;             // body of the error response
  };
  Match Find(std::string_view method, std::string_view path, bool on_admin_listener) const;

 private:
  bool Serves(const Route& route, bool on_admin_listener) const;

  bool admin_listener_;
  std::vector<Route> routes_;  // first match wins
};

// parleyd's endpoints: /ws (the upgrade), /healthz, /readyz, /metrics and /admin/*.
// `ready`, `registry` and `ctx` must outlive the table; `ctx.admin` empty: /admin/ is 404.
RouteTable BuiltInRoutes(GatewayContext& ctx, const std::atomic<bool>& ready,
                         metrics::Registry& registry);

}  // namespace parley
