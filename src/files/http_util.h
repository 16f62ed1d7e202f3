// The HTTP replies of the attachment API that do not depend on its state: error replies
// with their stable codes and the request id (the headers it reads and writes are in
// http_headers.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "files/http_headers.h"
#include "gateway/routes.h"

namespace parley::files {

// The request id to answer with: the client's X-Request-Id when it is 1-64 printable
// ASCII characters without spaces, else a new one.
std::string RequestIdOf(const RouteRequest& req);

// {"error":CODE,"message":…,"request_id":…} with `status`.
RouteReply ErrorReply(int status, std::string_view code, std::string_view message,
                      const std::string& request_id);
// The reply for a Status from the services: the status and code the protocol gives it.
RouteReply StatusReply(const Status& status, const std::string& request_id);
// A JSON body with `status`.
RouteReply JsonReply(int status, std::string body, const std::string& request_id);

}  // namespace parley::files
