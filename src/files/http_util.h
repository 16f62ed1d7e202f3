// The HTTP details of the attachment API that do not depend on its state: error replies
// with their stable codes and the request id, byte ranges, and the headers that keep a
// user's file from ever running as a page of the server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
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

// The token of "Authorization: Bearer TOKEN", or empty.
std::string BearerToken(std::string_view authorization);

// One range of a Range header for an object of `size` bytes. nullopt: no (usable) Range
// header — serve the whole object, as RFC 9110 allows for a syntax it does not take.
// `unsatisfiable` set: it starts past the end (416).
struct ByteSpan {
  uint64_t offset = 0;
  uint64_t length = 0;
};
std::optional<ByteSpan> ParseRange(std::string_view header, uint64_t size, bool* unsatisfiable);

// Content-Type for a declared type: the type itself only for raster images, audio,
// video and PDF; application/octet-stream for anything else (HTML, SVG, scripts).
std::string SafeContentType(std::string_view declared);
// True for the types shown inline (raster images); everything else is an attachment.
bool ShownInline(std::string_view content_type);
// Content-Disposition with an ASCII fallback name and the UTF-8 name (RFC 6266/8187).
std::string ContentDisposition(bool inline_view, std::string_view file_name);

}  // namespace parley::files
