// JsonWriter: a small, fast, append-only JSON builder for protocol frames. It writes
// straight into a std::string with correct string escaping; commas are placed
// automatically. Callers must balance Begin/End calls; keys are written unescaped, so they
// must be plain ASCII literals.
//
//   JsonWriter w;
//   w.BeginObject().Key("id").Int(7).Key("ok").Bool(true).EndObject();
//   std::string frame = w.Take();
//
// Thread-safety: none; one writer per frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

class JsonWriter {
 public:
  JsonWriter() { out_.reserve(256); }

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  JsonWriter& Key(std::string_view key) {
    Separate();
    out_ += '"';
    out_ += key;
    out_ += "\":";
    after_key_ = true;
    return *this;
  }

  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v) { return Raw(std::to_string(v)); }
  JsonWriter& Uint(uint64_t v) { return Raw(std::to_string(v)); }
  JsonWriter& Bool(bool v) { return Raw(v ? "true" : "false"); }
  JsonWriter& Null() { return Raw("null"); }
  // Inserts an already encoded JSON value (e.g. an echoed request id).
  JsonWriter& Raw(std::string_view json) {
    Separate();
    out_ += json;
    return *this;
  }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  JsonWriter& Open(char c) {
    Separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  // Writes the comma before a value or key unless it opens a container or follows a key.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace parley
