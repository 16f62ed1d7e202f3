#include "gateway/routes.h"

#include <array>
#include <utility>

#include "common/ascii.h"

namespace parley {
namespace {

struct MethodName {
  uint32_t bit;
  std::string_view name;
};
constexpr std::array<MethodName, 6> kMethods = {{
    {kGet, "GET"},
    {kHead, "HEAD"},
    {kPost, "POST"},
    {kPut, "PUT"},
    {kDelete, "DELETE"},
    {kPatch, "PATCH"},
}};

// "GET only\n", "GET, POST only\n": the 405 body. HEAD goes unsaid beside GET.
std::string AllowedText(uint32_t methods) {
  std::string out;
  for (const MethodName& m : kMethods) {
    if (!(methods & m.bit) || (m.bit == kHead && (methods & kGet))) continue;
    if (!out.empty()) out += ", ";
    out += m.name;
  }
  return out + " only\n";
}

bool PathMatches(const Route& route, std::string_view path) {
  return route.prefix ? path.starts_with(route.path) : path == route.path;
}

constexpr char kNotFound[] = "no such endpoint\n";

}  // namespace

std::string RouteRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

uint32_t MethodBit(std::string_view method) {
  for (const MethodName& m : kMethods) {
    if (m.name == method) return m.bit;
  }
  return 0;
}

void RouteTable::Add(Route route) {
  if (route.methods & kGet) route.methods |= kHead;
  routes_.push_back(std::move(route));
}

bool RouteTable::Serves(const Route& route, bool on_admin_listener) const {
  switch (route.served_on) {
    case ServedOn::kMain:
      return !on_admin_listener;
    case ServedOn::kAdminSurface:
      return on_admin_listener || !admin_listener_;
    case ServedOn::kEvery:
      return true;
  }
  return false;
}

RouteTable::Match RouteTable::Find(std::string_view method, std::string_view path,
                                   bool on_admin_listener) const {
  for (const Route& route : routes_) {
    if (!PathMatches(route, path) || !Serves(route, on_admin_listener)) continue;
    if (route.methods != kAnyMethod && !(route.methods & MethodBit(method))) {
      return {nullptr, 405, AllowedText(route.methods)};
    }
    return {&route, 0, {}};
  }
  return {nullptr, 404, kNotFound};
}

RouteTable BuiltInRoutes(GatewayContext& ctx, const std::atomic<bool>& ready,
                         metrics::Registry& registry) {
  RouteTable table(ctx.config.admin_listen_port != 0);
  table.Add({.path = "/ws", .served_on = ServedOn::kMain, .websocket = true, .handler = {}});
  table.Add({.path = "/healthz", .handler = [](RouteRequest, ReplyFn reply) {
               reply({200, "ok\n"});
             }});
  table.Add({.path = "/readyz", .handler = [&ready, &ctx](RouteRequest, ReplyFn reply) {
               const bool ok =
                   ready.load(std::memory_order_relaxed) && (!ctx.ready_check || ctx.ready_check());
               reply({ok ? 200 : 503, ok ? "ready\n" : "not ready\n"});
             }});
  table.Add(
      {.path = "/metrics",
       .served_on = ServedOn::kAdminSurface,
       .handler = [&registry](RouteRequest, ReplyFn reply) {
         reply({200, registry.RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8"});
       }});
  // Admin requests may take minutes (a backup): AdminHandler answers from its own thread.
  if (ctx.admin) {
    table.Add({.path = "/admin/",
               .prefix = true,
               .methods = kAnyMethod,
               .served_on = ServedOn::kAdminSurface,
               .handler = [&ctx](RouteRequest req, ReplyFn reply) {
                 ctx.admin(std::move(req.method), std::move(req.target),
                           std::move(req.authorization), std::move(req.body),
                           [reply = std::move(reply)](int status, std::string body) {
                             reply({status, std::move(body), "application/json"});
                           });
               }});
  }
  return table;
}

}  // namespace parley
