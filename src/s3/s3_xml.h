// The few S3 XML answers parleyd reads (errors, multipart initiation, listings), turned
// into a flat list of leaf elements by path: "ListBucketResult/Contents/Key" -> "a/b".
// Built on expat (its entity-expansion limits stop "billion laughs" documents); bodies
// over 16 MiB or deeper than 16 levels are refused.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace parley::s3 {

struct XmlLeaf {
  std::string path;  // element names from the root, '/'-separated, without namespaces
  std::string text;
};

// kCorruption for malformed XML (the message says where).
Result<std::vector<XmlLeaf>> ParseXmlLeaves(std::string_view body);

// The text of the first leaf at `path`, or "".
std::string FirstText(const std::vector<XmlLeaf>& leaves, std::string_view path);

}  // namespace parley::s3
