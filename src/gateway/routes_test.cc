// The route table on its own: which row serves which method, path and listener, and the
// built-in rows' answers.
#include "gateway/routes.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

RouteHandler Answer(std::string text) {
  return [text](RouteRequest, ReplyFn reply) { reply({200, text}); };
}

// Runs the handler of the row matched for (method, path) and returns its reply.
RouteReply Call(const RouteTable& table, std::string_view method, std::string_view path,
                bool on_admin = false) {
  auto match = table.Find(method, path, on_admin);
  if (!match.route) return {match.status, match.error};
  if (match.route->websocket) return {101, "upgrade"};
  RouteReply out{0, "no reply"};
  match.route->handler(
      RouteRequest{std::string(method), std::string(path), std::string(path), "", ""},
      [&out](RouteReply r) { out = std::move(r); });
  return out;
}

TEST(RouteTableTest, ExactPathsPrefixesAndMethods) {
  RouteTable table(false);
  table.Add({.path = "/healthz", .handler = Answer("health")});
  table.Add({.path = "/files/", .prefix = true, .methods = kGet | kPost, .handler = Answer("f")});
  EXPECT_EQ(Call(table, "GET", "/healthz").body, "health");
  EXPECT_EQ(Call(table, "HEAD", "/healthz").body, "health");  // GET implies HEAD
  EXPECT_EQ(Call(table, "GET", "/healthz/more").status, 404);
  EXPECT_EQ(Call(table, "GET", "/health").status, 404);
  auto post = Call(table, "POST", "/healthz");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.body, "GET only\n");
  EXPECT_EQ(Call(table, "POST", "/files/a/b").body, "f");
  EXPECT_EQ(Call(table, "DELETE", "/files/a").body, "GET, POST only\n");
  EXPECT_EQ(Call(table, "BREW", "/files/a").status, 405);  // a method the table never names
  EXPECT_EQ(Call(table, "GET", "/nothing").body, "no such endpoint\n");
}

TEST(RouteTableTest, ListenersServeTheirOwnRows) {
  for (bool admin_port : {false, true}) {
    RouteTable table(admin_port);
    table.Add({.path = "/ws", .served_on = ServedOn::kMain, .websocket = true, .handler = {}});
    table.Add({.path = "/metrics", .served_on = ServedOn::kAdminSurface, .handler = Answer("m")});
    table.Add({.path = "/healthz", .handler = Answer("h")});
    SCOPED_TRACE(admin_port ? "with an admin port" : "without an admin port");
    EXPECT_EQ(Call(table, "GET", "/ws").status, 101);
    EXPECT_EQ(Call(table, "GET", "/healthz").body, "h");
    // /metrics moves to the admin port when there is one.
    EXPECT_EQ(Call(table, "GET", "/metrics").status, admin_port ? 404 : 200);
    if (admin_port) {
      EXPECT_EQ(Call(table, "GET", "/metrics", true).body, "m");
      EXPECT_EQ(Call(table, "GET", "/healthz", true).body, "h");
      EXPECT_EQ(Call(table, "GET", "/ws", true).status, 404);
    }
  }
}

TEST(RouteTableTest, BuiltInRoutes) {
  metrics::Registry registry;
  registry.counter("parley_test_total", "A counter for the test.").Inc();
  GatewayContext ctx;
  std::atomic<bool> ready{false};
  std::string admin_seen;
  ctx.admin = [&admin_seen](std::string method, std::string target, std::string authorization,
                            std::string body, std::function<void(int, std::string)> respond) {
    admin_seen = method + " " + target + " " + authorization + " " + body;
    respond(202, "{}");
  };
  RouteTable table = BuiltInRoutes(ctx, ready, registry);
  EXPECT_EQ(Call(table, "GET", "/healthz").body, "ok\n");
  EXPECT_EQ(Call(table, "GET", "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(Call(table, "GET", "/readyz").status, 200);
  auto metrics = Call(table, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("parley_test_total 1"), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Call(table, "POST", "/metrics").status, 405);
  EXPECT_EQ(Call(table, "GET", "/ws").status, 101);

  auto match = table.Find("POST", "/admin/backup", false);
  ASSERT_NE(match.route, nullptr);
  RouteReply reply;
  match.route->handler({"POST", "/admin/backup?x=1", "/admin/backup", "Bearer t", "{\"a\":1}"},
                       [&reply](RouteReply r) { reply = std::move(r); });
  EXPECT_EQ(admin_seen, "POST /admin/backup?x=1 Bearer t {\"a\":1}");
  EXPECT_EQ(reply.status, 202);
  EXPECT_EQ(reply.content_type, "application/json");

  GatewayContext no_admin;  // no admin handler: /admin/ is not served
  RouteTable bare = BuiltInRoutes(no_admin, ready, registry);
  EXPECT_EQ(Call(bare, "POST", "/admin/backup").status, 404);
}

}  // namespace
}  // namespace parley
