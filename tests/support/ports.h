// FreeLoopbackPort: a TCP port on 127.0.0.1 that nobody listens on now (the kernel picks
// it: bind to 0, read it back, close). A small race remains until the test's server binds
// it; the helpers that start servers retry a failed start with a new port.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace parley::test {

Result<uint16_t> FreeLoopbackPort();

}  // namespace parley::test
