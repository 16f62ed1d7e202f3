// AddressLimits: admission of new connections per client address — how many one address
// may hold open at once, and how fast it may open new ones (a token bucket per address).
// Keys are strings chosen by the caller (the gateway uses the IPv4 address, or the /64
// prefix of an IPv6 address). An address is remembered only while it has open connections
// or a bucket that has not refilled, so memory follows the active addresses.
//
// Thread-safety: all methods are thread-safe (one mutex; called once per accept and once
// per closed connection, far below the rate where it would matter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "limits/token_bucket.h"

namespace parley {

class AddressLimits {
 public:
  // max_open 0 = no cap on open connections; rate_per_s <= 0 = no rate limit.
  AddressLimits(size_t max_open, double rate_per_s, double burst)
      : max_open_(max_open), rate_(rate_per_s), burst_(burst) {}

  enum class Verdict { kAdmitted, kTooManyOpen, kTooFast };
  struct Admission {
    Verdict verdict = Verdict::kAdmitted;
    int64_t retry_after_us = 0;  // kTooFast: when a new connection would be allowed
  };

  // Admits one new connection from `key` at `now_us` (counting it as open) or says why
  // not; a refused connection costs no token and is not counted.
  Admission TryOpen(const std::string& key, int64_t now_us);
  // One connection admitted by TryOpen has closed.
  void Closed(const std::string& key);

  size_t open(const std::string& key) const;
  // Addresses currently remembered.
  size_t size() const;

  static constexpr uint64_t kSweepEvery = 1024;

 private:
  struct Entry {
    explicit Entry(double rate, double burst) : bucket(rate, burst) {}
    size_t open = 0;
    TokenBucket bucket;
  };
  void SweepLocked(int64_t now_us);

  const size_t max_open_;
  const double rate_;
  const double burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t opens_ = 0;
};

}  // namespace parley
