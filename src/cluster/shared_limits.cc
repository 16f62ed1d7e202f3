#include "cluster/shared_limits.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace parley::cluster {
namespace {

// KEYS[1]: the subject's key. ARGV[1]: emission interval in ms (1000 / rate);
// ARGV[2]: the window, burst × interval. Returns {1, 0} (allowed, counted) or
// {0, retry_after_ms} (refused, not counted).
constexpr std::string_view kGcraScript = R"lua(
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > window then
  return {0, math.ceil(new_tat - window - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
           math.max(1, math.ceil(new_tat - now)))
return {1, 0}
)lua";

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

const std::string& ScriptSha() {
  static const std::string sha = Sha1Hex(kGcraScript);
  return sha;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The script's answer, or nullopt for anything else (an error, a null: Redis down).
std::optional<LimitVerdict> Parse(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER ||
      reply->element[1]->type != REDIS_REPLY_INTEGER) {
    return std::nullopt;
  }
  return LimitVerdict{reply->element[0]->integer == 1, reply->element[1]->integer, true};
}

}  // namespace

SharedLimits::SharedLimits(RedisConnection& conn, SharedLimitsOptions options,
                           metrics::Registry& registry)
    : conn_(conn),
      options_(options),
      fail_open_(registry.counter(
          "parley_redis_limit_fail_open_total",
          "Shared limit checks allowed without Redis's answer (only local limits applied).")) {
  for (size_t i = 0; i < kSharedLimitCount; ++i) {
    refused_[i] = &registry.counter("parley_redis_limit_refused_total",
                                    "Attempts refused by a cross-node limit.",
                                    {{"limit", Name(static_cast<SharedLimit>(i))}});
  }
}

const char* SharedLimits::Name(SharedLimit limit) {
  switch (limit) {
    case SharedLimit::kLogin:
      return "login";
    case SharedLimit::kRegister:
      return "register";
    case SharedLimit::kConnect:
      return "connect";
  }
  return "unknown";
}

std::string SharedLimits::Key(SharedLimit limit, std::string_view subject) {
  return std::string("parley:limit:") + Name(limit) + ":{" + std::string(subject) + "}";
}

void SharedLimits::Run(const std::string& key, const LimitRule& rule, bool with_source,
                       std::function<void(LimitVerdict)> done) {
  const double interval = 1000.0 / std::max(rule.rate_per_s, 1e-9);
  const std::string interval_arg = std::to_string(interval);
  const std::string window_arg = std::to_string(interval * std::max(rule.burst, 1.0));
  std::vector<std::string> args = with_source
                                      ? std::vector<std::string>{"EVAL", std::string(kGcraScript)}
                                      : std::vector<std::string>{"EVALSHA", ScriptSha()};
  args.insert(args.end(), {"1", key, interval_arg, window_arg});
  conn_.Command(std::move(args), [this, key, rule, with_source,
                                  done = std::move(done)](const redisReply* reply) mutable {
    if (!with_source && reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
        ReplyString(reply).starts_with("NOSCRIPT")) {
      return Run(key, rule, true, std::move(done));  // loads it for the next EVALSHA
    }
    if (auto verdict = Parse(reply)) return done(*verdict);
    fail_open_.Inc();
    done(LimitVerdict{true, 0, false});
  });
}

void SharedLimits::Acquire(SharedLimit limit, std::string_view subject,
                           std::function<void(LimitVerdict)> done) {
  const size_t i = static_cast<size_t>(limit);
  if (options_.rules[i].rate_per_s <= 0) return done(LimitVerdict{});  // the limit is off
  Run(Key(limit, subject), options_.rules[i], false,
      [this, i, done = std::move(done)](LimitVerdict v) {
        if (!v.allowed) refused_[i]->Inc();
        done(v);
      });
}

LimitVerdict SharedLimits::Admit(SharedLimit limit, std::string_view subject) {
  // A rate of 0 turns the limit off (as `[limits] handshake_rate_per_ip = 0` does for the
  // node's own limit), never "a budget that does not refill".
  if (options_.rules[static_cast<size_t>(limit)].rate_per_s <= 0) return LimitVerdict{};
  std::string key = Key(limit, subject);
  const int64_t now = SteadyMs();
  LimitVerdict verdict;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refused_until_.find(key);
    if (it != refused_until_.end()) {
      if (it->second > now) {
        verdict = LimitVerdict{false, it->second - now, true};
      } else {
        refused_until_.erase(it);
      }
    }
  }
  if (!verdict.allowed) {
    refused_[static_cast<size_t>(limit)]->Inc();
    return verdict;  // refused attempts are not counted in Redis either
  }
  // This attempt is let through; Redis's answer decides the next ones.
  Run(key, options_.rules[static_cast<size_t>(limit)], false, [this, key](LimitVerdict v) {
    if (v.allowed) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (refused_until_.size() >= options_.max_remembered) refused_until_.clear();
    refused_until_[key] = SteadyMs() + v.retry_after_ms;
  });
  return verdict;
}

}  // namespace parley::cluster
