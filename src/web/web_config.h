// WebConfig: the [web] table of the config file (docs/operations.md): the web client's
// files, served at /app/.
#pragma once

#include <string>

namespace parley::web {

struct WebConfig {
  bool enabled = true;
  // The built web client (web/build.mjs). Empty: `web` beside the parleyd executable,
  // where the build puts it — served if it is there, silently skipped if not.
  std::string dir;
};

}  // namespace parley::web
