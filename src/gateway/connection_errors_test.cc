// Which connection errors fail() reports: the ends of ordinary connections are not
// counted, anything else is, under its step.
#include "gateway/connection_errors.h"

#include <gtest/gtest.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace parley {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

TEST(ConnectionErrorsTest, OrdinaryEndsAreExpected) {
  for (const error_code& ec : {
           error_code(),
           error_code(asio::error::operation_aborted),
           error_code(beast::websocket::error::closed),
           error_code(beast::http::error::end_of_stream),
           error_code(beast::http::error::partial_message),
           error_code(asio::error::eof),
           error_code(beast::error::timeout),
           error_code(asio::error::connection_reset),
           error_code(asio::error::broken_pipe),
           error_code(asio::ssl::error::stream_truncated),
       }) {
    EXPECT_TRUE(IsExpectedDisconnect(ec)) << ec.message();
  }
}

TEST(ConnectionErrorsTest, OthersAreCountedUnderTheirStep) {
  metrics::Registry registry;
  GatewayMetrics metrics(registry);
  EXPECT_FALSE(ReportConnectionError(metrics, ConnectionStep::kWsRead,
                                     beast::websocket::error::closed, "192.0.2.1"));
  EXPECT_FALSE(ReportConnectionError(metrics, ConnectionStep::kHttpRead,
                                     beast::http::error::end_of_stream, "192.0.2.1"));
  EXPECT_TRUE(ReportConnectionError(metrics, ConnectionStep::kWsRead,
                                    beast::websocket::error::message_too_big, "192.0.2.1"));
  EXPECT_TRUE(ReportConnectionError(metrics, ConnectionStep::kWsRead,
                                    beast::websocket::error::bad_frame_payload, "192.0.2.1"));
  EXPECT_TRUE(ReportConnectionError(metrics, ConnectionStep::kHttpRead,
                                    beast::http::error::bad_method, "192.0.2.2"));
  EXPECT_TRUE(ReportConnectionError(metrics, ConnectionStep::kWsWrite, asio::error::no_buffer_space,
                                    "192.0.2.3"));
  EXPECT_EQ(metrics.ConnectionError(ConnectionStep::kWsRead).value(), 2u);
  EXPECT_EQ(metrics.ConnectionError(ConnectionStep::kHttpRead).value(), 1u);
  EXPECT_EQ(metrics.ConnectionError(ConnectionStep::kWsWrite).value(), 1u);
  EXPECT_EQ(metrics.ConnectionError(ConnectionStep::kWsClose).value(), 0u);
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("parley_ws_errors_total{what=\"read\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_http_errors_total{what=\"read\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_ws_errors_total{what=\"close\"} 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace parley
