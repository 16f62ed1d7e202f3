// Requests to parleyd's attachment API as a logged-in device (attachment_transfer.cc and
// attachment_download.cc share them): the bearer header, small JSON calls, Retry-After.
//
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>

#include "client/attachment_transfer.h"
#include "client/transfer_http.h"

namespace parley::client {

// "Authorization: Bearer <token>".
std::string AuthHeader(const TransferTarget& target);

// A small request (create, GET/HEAD of an upload, complete, info) to base_url + path with
// the token, a JSON body if `body` is non-empty, and a total timeout of 60 s. An HTTP
// error status is in the reply, not an error (transfer_http.h, Perform).
Result<HttpReply> JsonRequest(const TransferTarget& target, const std::string& method,
                              const std::string& path, const std::string& body = "");

// The reply's Retry-After (seconds) in ms, capped at 60 s; 0 if none.
int64_t RetryAfterMs(const HttpReply& reply);

}  // namespace parley::client
