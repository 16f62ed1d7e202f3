#include "s3/s3_xml.h"

#include <expat.h>

#include <memory>

namespace parley::s3 {

namespace {

constexpr size_t kMaxBody = 16u << 20;
constexpr int kMaxDepth = 16;

struct Walk {
  std::vector<std::string> stack;
  std::string text;
  bool leaf = false;  // no child element since the current one opened
  std::vector<XmlLeaf> leaves;
  bool too_deep = false;
};

std::string_view LocalName(const char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

void OnStart(void* data, const char* name, const char** /*attributes*/) {
  auto* w = static_cast<Walk*>(data);
  if (w->stack.size() >= kMaxDepth) {
    w->too_deep = true;
    return;
  }
  w->stack.emplace_back(LocalName(name));
  w->text.clear();
  w->leaf = true;
}

void OnEnd(void* data, const char* /*name*/) {
  auto* w = static_cast<Walk*>(data);
  if (w->too_deep || w->stack.empty()) return;
  if (w->leaf) {
    std::string path;
    for (const std::string& part : w->stack) {
      if (!path.empty()) path += '/';
      path += part;
    }
    w->leaves.push_back(XmlLeaf{std::move(path), std::move(w->text)});
  }
  w->text.clear();
  w->stack.pop_back();
  w->leaf = false;
}

void OnText(void* data, const char* s, int len) {
  auto* w = static_cast<Walk*>(data);
  if (w->leaf && w->text.size() < kMaxBody) w->text.append(s, static_cast<size_t>(len));
}

}  // namespace

Result<std::vector<XmlLeaf>> ParseXmlLeaves(std::string_view body) {
  if (body.size() > kMaxBody) return Status(Code::kCorruption, "S3 answer over 16 MiB");
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(
      XML_ParserCreateNS(nullptr, ':'), &XML_ParserFree);
  if (!parser) return Status(Code::kInternal, "expat: out of memory");
  Walk walk;
  XML_SetUserData(parser.get(), &walk);
  XML_SetElementHandler(parser.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser.get(), OnText);
  if (XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), XML_TRUE) !=
      XML_STATUS_OK) {
    return Status(Code::kCorruption, std::string("S3 answer is not XML: ") +
                                         XML_ErrorString(XML_GetErrorCode(parser.get())) +
                                         " at line " +
                                         std::to_string(XML_GetCurrentLineNumber(parser.get())));
  }
  if (walk.too_deep) return Status(Code::kCorruption, "S3 answer nests too deep");
  return std::move(walk.leaves);
}

std::string FirstText(const std::vector<XmlLeaf>& leaves, std::string_view path) {
  for (const XmlLeaf& leaf : leaves) {
    if (leaf.path == path) return leaf.text;
  }
  return "";
}

}  // namespace parley::s3
