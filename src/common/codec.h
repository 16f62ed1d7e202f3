// Binary encoding used for store keys and values.
//
// Keys use fixed-width big-endian integers so that byte-wise key order equals numeric
// order (RocksDB iterates `(conv_id, conv_seq)` in sequence order). Values use LEB128
// varints and length-prefixed strings: compact, and cheap to encode on the sequencer's
// hot path. Decoding is bounds-checked: a truncated or garbled value yields a failed
// Reader (ok() == false), never undefined behaviour.
//
// Thread-safety: Writer/Reader are single-threaded value types.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace parley {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void BigEndian64(uint64_t v) {
    char buf[8];
    for (int i = 7; i >= 0; --i) {
      buf[i] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
    out_->append(buf, 8);
  }
  void Varint(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  // Zig-zag so that small negative numbers stay small.
  void SignedVarint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Bytes(std::string_view s) {
    Varint(s.size());
    out_->append(s.data(), s.size());
  }
  void Raw(std::string_view s) { out_->append(s.data(), s.size()); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    uint8_t v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint64_t BigEndian64() {
    if (!Need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return v;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return 0;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t SignedVarint() {
    uint64_t z = Varint();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string_view Bytes() {
    uint64_t n = Varint();
    if (!Need(n)) return {};
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }

 private:
  bool Need(uint64_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view in_;
  bool ok_ = true;
};

// Big-endian u64 from the first 8 bytes of `s` (caller guarantees the length).
inline uint64_t DecodeBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace parley
