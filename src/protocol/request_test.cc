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
  // A negative integer is the right type with a value out of range.
  EXPECT_EQ(r.fields.Uint("n").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.OptInt("n").value().value(), -3);
  EXPECT_FALSE(r.fields.OptUint("missing").value().has_value());
  EXPECT_EQ(std::get<std::string>(r.fields.User("to").value()), "bob");
  auto list = r.fields.Users("list", 10).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(std::get<uint64_t>(list[0]), 1u);
  EXPECT_EQ(r.fields.Users("list", 1).status().code(), Code::kInvalidArgument);  // too long
  EXPECT_EQ(r.fields.String("flag").status().code(), Code::kBadRequest);
}

// Item 12 of issue 10: a frame refused as a whole still echoes its id.
std::string IdOf(std::string_view frame, Code* code) {
  ParsedRequest r;
  *code = ParseFrame(frame, &r).code();
  if (const auto* n = std::get_if<uint64_t>(&r.id)) return std::to_string(*n);
  if (const auto* s = std::get_if<std::string>(&r.id)) return '"' + *s + '"';
  return "null";
}

TEST(RequestParser, LoneSurrogateKeepsTheIdAndIsInvalidUtf8) {
  Code code;
  EXPECT_EQ(
      IdOf(R"({"id":"m-7","op":"send","conv":1,"client_msg_id":"c","body":"cut emoji \ud83d"})",
           &code),
      "\"m-7\"");
  EXPECT_EQ(code, Code::kInvalidUtf8);
  // The id after the bad string, a lone low half, an escaped backslash before a pair.
  EXPECT_EQ(IdOf(R"({"op":"send","body":"x\ud83d","id":9})", &code), "9");
  EXPECT_EQ(code, Code::kInvalidUtf8);
  EXPECT_EQ(IdOf(R"({"id":10,"op":"send","body":"\ude00 tail"})", &code), "10");
  EXPECT_EQ(code, Code::kInvalidUtf8);
  EXPECT_EQ(IdOf(R"({"id":11,"op":"send","body":"\\ud83d \ud83d\ude00 \ud83d"})", &code), "11");
  EXPECT_EQ(code, Code::kInvalidUtf8);
  // An escaped id key still counts; a surrogate in the id itself leaves no usable id.
  EXPECT_EQ(IdOf(R"({"\u0069d":12,"op":"send","body":"\ud83d"})", &code), "12");
  EXPECT_EQ(IdOf(R"({"id":"\ud83d","op":"ping"})", &code), "null");
  EXPECT_EQ(code, Code::kInvalidUtf8);
  // Another bad escape beside a valid pair is not a UTF-8 problem.
  EXPECT_EQ(IdOf(R"({"id":13,"op":"send","body":"\ud83d\ude00 \x"})", &code), "13");
  EXPECT_EQ(code, Code::kBadJson);
  // Only escaped backslashes: fine.
  ParsedRequest r;
  EXPECT_TRUE(ParseFrame(R"({"id":14,"op":"ping","s":"\\ud83d"})", &r).ok());
}

TEST(RequestParser, IntegerBeyond64BitsKeepsTheIdAndIsInvalidArgument) {
  Code code;
  EXPECT_EQ(IdOf(R"({"id":5,"op":"sync","since":18446744073709551616})", &code), "5");
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_EQ(IdOf(R"({"op":"history","conv":99999999999999999999999,"id":"h"})", &code), "\"h\"");
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_EQ(IdOf(R"({"id":6,"op":"search","q":"x","since":-9223372036854775809})", &code), "6");
  EXPECT_EQ(code, Code::kInvalidArgument);
  // Nested and in an unknown field: still out of range, still the id.
  EXPECT_EQ(IdOf(R"({"id":7,"op":"ping","extra":{"a":[1,184467440737095516150]}})", &code), "7");
  EXPECT_EQ(code, Code::kInvalidArgument);
  // The id itself too large: the id is what is wrong.
  EXPECT_EQ(IdOf(R"({"id":18446744073709551616,"op":"ping"})", &code), "null");
  EXPECT_EQ(code, Code::kBadRequest);
  // Digits in a string are not numbers; a malformed number is bad JSON.
  EXPECT_EQ(IdOf(R"({"id":8,"op":"ping","s":"18446744073709551616","n":01})", &code), "8");
  EXPECT_EQ(code, Code::kBadJson);
  // Not an object, or two ids: no id.
  EXPECT_EQ(IdOf(R"([{"id":1,"n":18446744073709551616}])", &code), "null");
  EXPECT_EQ(IdOf(R"({"id":1,"id":2,"n":18446744073709551616})", &code), "null");
}

TEST(RequestParser, IntegerFieldsHaveOneRange) {
  ParsedRequest r;
  ASSERT_TRUE(ParseFrame(R"({"id":1,"op":"sync","a":9007199254740991,"b":9007199254740992,)"
                         R"("c":18446744073709551615,"d":-9007199254740991,"e":-9007199254740992,)"
                         R"("f":1.0,"g":"5","h":-1})",
                         &r)
                  .ok());
  EXPECT_EQ(r.fields.Uint("a").value(), 9007199254740991u);
  EXPECT_EQ(r.fields.Uint("b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.Uint("c").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.OptInt("b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.OptInt("d").value().value(), -9007199254740991);
  EXPECT_EQ(r.fields.OptInt("e").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.Uint("f").status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.Uint("g").status().code(), Code::kBadRequest);
  EXPECT_EQ(r.fields.User("h").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.User("b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.fields.User("f").status().code(), Code::kBadRequest);
}

TEST(RequestParser, IdLimitIsInBytes) {
  Code code;
  EXPECT_EQ(IdOf(R"({"id":")" + std::string(64, 'x') + R"(","op":"ping"})", &code),
            '"' + std::string(64, 'x') + '"');
  EXPECT_EQ(code, Code::kOk);
  // 32 two-byte characters fit; 33 (66 bytes) do not.
  std::string e32;
  for (int i = 0; i < 32; ++i) e32 += "\xC3\xA9";
  EXPECT_EQ(IdOf(R"({"id":")" + e32 + R"(","op":"ping"})", &code), '"' + e32 + '"');
  EXPECT_EQ(IdOf(R"({"id":")" + e32 + "\xC3\xA9" + R"(","op":"ping"})", &code), "null");
  EXPECT_EQ(code, Code::kBadRequest);
}

// Item 15: JSON.parse keeps the last of two equal keys, simdjson the first: refuse both.
TEST(RequestParser, DuplicateKeysAreBadJson) {
  Code code;
  EXPECT_EQ(IdOf(R"({"id":1,"op":"send","body":"a","body":"b"})", &code), "1");
  EXPECT_EQ(code, Code::kBadJson);
  EXPECT_EQ(IdOf(R"({"id":1,"op":"ping","op":"send"})", &code), "1");
  EXPECT_EQ(code, Code::kBadJson);
  // Equal once unescaped.
  EXPECT_EQ(IdOf(R"({"id":2,"op":"send","conv":1,"\u0063onv":2})", &code), "2");
  EXPECT_EQ(code, Code::kBadJson);
  // Two ids: neither is echoed.
  EXPECT_EQ(IdOf(R"({"id":1,"op":"ping","id":2})", &code), "null");
  EXPECT_EQ(code, Code::kBadJson);
  // Many keys (the sorted path), the duplicate at the end.
  std::string many = R"({"id":3,"op":"ping")";
  for (int i = 0; i < 100; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  ParsedRequest r;
  EXPECT_TRUE(ParseFrame(many + "}", &r).ok());
  EXPECT_EQ(IdOf(many + R"(,"k7":0})", &code), "3");
  EXPECT_EQ(code, Code::kBadJson);
  // Equal keys in different objects, or nested, are not duplicates of the request.
  EXPECT_TRUE(ParseFrame(R"({"id":4,"op":"ping","a":{"x":1},"b":{"x":2}})", &r).ok());
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
