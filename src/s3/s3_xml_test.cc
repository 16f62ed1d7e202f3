#include "s3/s3_xml.h"

#include <gtest/gtest.h>

namespace parley::s3 {
namespace {

TEST(S3XmlTest, FlattensLeavesByPathWithoutNamespaces) {
  auto leaves = ParseXmlLeaves(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><IsTruncated>true</IsTruncated>
  <Contents><Key>a/1</Key><Size>10</Size></Contents>
  <Contents><Key>a/2 &amp; more</Key><Size>20</Size></Contents>
  <NextContinuationToken>tok</NextContinuationToken>
</ListBucketResult>)");
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  EXPECT_EQ(FirstText(*leaves, "ListBucketResult/IsTruncated"), "true");
  EXPECT_EQ(FirstText(*leaves, "ListBucketResult/NextContinuationToken"), "tok");
  std::vector<std::string> keys;
  for (const auto& l : *leaves) {
    if (l.path == "ListBucketResult/Contents/Key") keys.push_back(l.text);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2 & more"}));
  EXPECT_EQ(FirstText(*leaves, "Nope"), "");
}

TEST(S3XmlTest, ReadsAnError) {
  auto leaves =
      ParseXmlLeaves("<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>");
  ASSERT_TRUE(leaves.ok());
  EXPECT_EQ(FirstText(*leaves, "Error/Code"), "SignatureDoesNotMatch");
}

TEST(S3XmlTest, RefusesBrokenDeepAndExplodingDocuments) {
  EXPECT_EQ(ParseXmlLeaves("<a><b></a>").status().code(), Code::kCorruption);
  EXPECT_EQ(ParseXmlLeaves("not xml").status().code(), Code::kCorruption);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<x>";
  for (int i = 0; i < 40; ++i) deep += "</x>";
  EXPECT_EQ(ParseXmlLeaves(deep).status().code(), Code::kCorruption);
  // "Billion laughs": expat's amplification limit stops it.
  std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">";
  std::string prev = "a";
  for (int i = 0; i < 9; ++i) {
    std::string name = "e" + std::to_string(i);
    bomb += "<!ENTITY " + name + " \"";
    for (int k = 0; k < 10; ++k) bomb += "&" + prev + ";";
    bomb += "\">";
    prev = name;
  }
  bomb += "]><l>&" + prev + ";</l>";
  EXPECT_FALSE(ParseXmlLeaves(bomb).ok());
}

}  // namespace
}  // namespace parley::s3
