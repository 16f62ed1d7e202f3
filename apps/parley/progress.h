// ProgressLine: the progress of an upload or download on stderr, redrawn in place —
// "  42% [########............]  8.4 MB / 20.0 MB". Only on a terminal, without --json,
// and for transfers of more than 1 MiB (smaller ones finish before it could be read);
// otherwise it draws nothing, since scripts parse the output and pipes gain nothing.
//
// Thread-safety: one thread (the transfer's callbacks run on the calling thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace parley::cli {

class ProgressLine {
 public:
  // `enabled`: the caller's say (not --json); a terminal is checked here.
  ProgressLine(std::string label, bool enabled);
  ~ProgressLine() { Finish(); }

  // Redraws at most ten times a second, and whenever the percentage is 100.
  void Update(uint64_t done, uint64_t total);
  // Ends the line (if one was drawn).
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace parley::cli
