// Calls to parleyd's HTTP admin API (/admin/…) for the `parley admin` commands: where the
// server is, the admin token, and one request with its JSON answer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"

namespace parley::cli {

// The admin token from `token_file` (first line) or, if that is empty, $PARLEY_ADMIN_TOKEN.
// kInvalidArgument if neither gives one.
Result<std::string> ReadAdminToken(const std::string& token_file);

// `method path` with `body` (JSON; empty: none) on `admin_url` (http[s]:// or ws[s]://; empty:
// the server the CLI talks to). A non-2xx answer becomes an error carrying the server's
// text: 401 kUnauthenticated, 400 kInvalidArgument, 409 kAlreadyExists or
// kFailedPrecondition (backups), 404 kNotFound, 503 kFailedPrecondition, else kInternal.
Result<nlohmann::json> AdminCall(Cli& cli, const std::string& admin_url, const std::string& token,
                                 const std::string& method, const std::string& path,
                                 const std::string& body, int timeout_s);

// Adds --admin-url and --token-file to `sub`.
void AddAdminServerOptions(CLI::App* sub, std::string& admin_url, std::string& token_file);

}  // namespace parley::cli
