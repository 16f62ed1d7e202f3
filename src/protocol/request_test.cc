// Request parsing and reply encoding: every malformed frame maps to its documented code.
#include "protocol/request.h"

#include <gtest/gtest.h>

#include "protocol/encode.h"

namespace parley {
namespace {

Status ParseFrame(std::string_view frame, ParsedRequest* out) {
  static RequestParser parser;
  return parser.Parse(frame, out);
}

Code CodeOf(std::string_view frame) {
  ParsedRequest r;
  return ParseFrame(frame, &r).code();
}

TEST(RequestParser, AcceptsIntegerAndStringIds) {
  ParsedRequest r;
  ASSERT_TRUE(ParseFrame(R"({"id":7,"op":"ping"})", &r).ok());
  EXPECT_EQ(std::get<uint64_t>(r.id), 7u);
  EXPECT_EQ(r.op, Op::kPing);
  ASSERT_TRUE(ParseFrame(R"({"op":"sync","id":"a-1","since":5})", &r).ok());
  EXPECT_EQ(std::get<std::string>(r.id), "a-1");
  EXPECT_EQ(r.op, Op::kSync);
  EXPECT_EQ(r.fields.Uint("since").value(), 5u);
}

TEST(RequestParser, EditCarriesConvSeqAndBody) {
  ParsedRequest r;
  ASSERT_TRUE(ParseFrame(R"({"id":8,"op":"edit","conv":3,"seq":41,"body":"fixed"})", &r).ok());
  EXPECT_EQ(r.op, Op::kEdit);
  EXPECT_EQ(r.fields.Uint("conv").value(), 3u);
  EXPECT_EQ(r.fields.Uint("seq").value(), 41u);
  EXPECT_EQ(r.fields.String("body").value(), "fixed");
  EXPECT_EQ(OpName(Op::kEdit), "edit");
}

TEST(RequestParser, EveryOpNameRoundTrips) {
  for (size_t i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    EXPECT_EQ(ParseOp(OpName(op)), op) << OpName(op);
  }
}

TEST(RequestParser, MalformedFramesGetStableCodes) {
  EXPECT_EQ(CodeOf("not json"), Code::kBadJson);
  EXPECT_EQ(CodeOf(R"({"id":1,"op":"ping")"), Code::kBadJson);
  EXPECT_EQ(CodeOf("[1,2,3]"), Code::kBadJson);
  EXPECT_EQ(CodeOf(R"("just a string")"), Code::kBadJson);
  EXPECT_EQ(CodeOf(R"({"op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":-1,"op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":1.5,"op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":{},"op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":"","op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":")" + std::string(65, 'x') + R"(","op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":9007199254740992,"op":"ping"})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":1})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":1,"op":5})"), Code::kBadRequest);
  EXPECT_EQ(CodeOf(R"({"id":1,"op":"frobnicate"})"), Code::kUnknownOp);
}

TEST(RequestParser, InvalidUtf8IsReported) {
  EXPECT_EQ(CodeOf("{\"id\":1,\"op\":\"send\",\"body\":\"\xC3\x28\"}"), Code::kInvalidUtf8);
  EXPECT_EQ(CodeOf(R"({"id":1,"op":"send","body":"\ud800"})"), Code::kInvalidUtf8);
  // A valid surrogate pair is fine.
  ParsedRequest r;
  ASSERT_TRUE(ParseFrame(R"({"id":1,"op":"send","body":"\ud83d\ude00"})", &r).ok());
  EXPECT_EQ(r.fields.String("body").value(), "\xF0\x9F\x98\x80");
}

TEST(RequestParser, IdIsKeptWhenTheRestIsBad) {
  ParsedRequest r;
  EXPECT_EQ(ParseFrame(R"({"id":42,"op":"nope"})", &r).code(), Code::kUnknownOp);
  EXPECT_EQ(std::get<uint64_t>(r.id), 42u);
}

TEST(Fields, TypeChecks) {
  ParsedRequest r;
  ASSERT_TRUE(
      ParseFrame(
          R"({"id":1,"op":"send","conv":"x","n":-3,"to":"bob","list":[1,"amy"],"flag":true})", &r)
          .ok());
  EXPECT_EQ(r.fields.Uint("conv").status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.Uint("missing").status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.Uint("n").status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.OptInt("n").value().value(), -3);
  EXPECT_FALSE(r.fields.OptUint("missing").value().has_value());
  EXPECT_EQ(std::get<std::string>(r.fields.User("to").value()), "bob");
  auto list = r.fields.Users("list", 10).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(std::get<uint64_t>(list[0]), 1u);
  EXPECT_EQ(r.fields.Users("list", 1).status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.String("flag").status().code(), Code::kBadRequest);
}

TEST(Encode, RepliesEchoTheId) {
  EXPECT_EQ(EmptyReply(RequestId{uint64_t{7}}), R"({"id":7,"ok":true})");
  EXPECT_EQ(EmptyReply(RequestId{std::string("a\"b")}), R"({"id":"a\"b","ok":true})");
  EXPECT_EQ(
      ErrorReply(RequestId{}, Status(Code::kRateLimited, "slow down"), 120),
      R"({"id":null,"ok":false,"error":"rate_limited","message":"slow down","retry_after_ms":120})");
}

TEST(Encode, EscapesControlCharacters) {
  JsonWriter w;
  w.String(std::string("a\n\t\x01\"\\z", 7));
  EXPECT_EQ(w.str(), R"("a\n\t\u0001\"\\z")");
}

TEST(Encode, EventPushCarriesTheMessage) {
  MessageRecord m;
  m.conv_id = 3;
  m.seq = 9;
  m.msg_id = 77;
  m.sender = 1;
  m.sender_device = "d";
  m.client_msg_id = "c";
  m.body = "hi";
  m.server_ms = 1000;
  JsonWriter mw;
  WriteMessage(mw, m);
  InboxEvent e;
  e.user_id = 2;
  e.user_seq = 5;
  e.conv_id = 3;
  e.conv_seq = 9;
  e.actor = 1;
  e.ms = 1000;
  EXPECT_EQ(EventPush(e, mw.str()),
            R"({"push":"event","event":{"user_seq":5,"type":"message","conv":3,"seq":9,"actor":1,)"
            R"("subject":0,"ts":1000,"message":{"conv":3,"seq":9,"msg_id":77,"sender":1,)"
            R"("device":"d","client_msg_id":"c","kind":"text","body":"hi","ts":1000}}})");
}

TEST(Encode, EditedMessagesSayWhen) {
  MessageRecord m;
  m.conv_id = 3;
  m.seq = 9;
  m.body = "fixed";
  m.server_ms = 1000;
  JsonWriter plain;
  WriteMessage(plain, m);
  EXPECT_EQ(plain.str().find("edited_ms"), std::string::npos);  // only once edited
  m.edited_ms = 2000;
  JsonWriter edited;
  WriteMessage(edited, m);
  EXPECT_EQ(edited.str(),
            R"({"conv":3,"seq":9,"msg_id":0,"sender":0,"device":"","client_msg_id":"",)"
            R"("kind":"text","body":"fixed","ts":1000,"edited_ms":2000})");
  InboxEvent e;
  e.type = EventType::kEdit;
  EXPECT_NE(EventPush(e, edited.str()).find(R"("type":"edit")"), std::string::npos);
}

}  // namespace
}  // namespace parley
