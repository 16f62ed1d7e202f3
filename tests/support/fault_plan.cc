#include "tests/support/fault_plan.h"

#include <sstream>

namespace parley::test {

std::string FaultPlan::ToText() const {
  std::ostringstream out;
  out << "url " << url << "\n"
      << "heartbeat " << heartbeat_idle_ms << " " << heartbeat_timeout_ms << "\n"
      << "backoff " << backoff_min_ms << " " << backoff_max_ms << "\n"
      << "timeouts " << connect_timeout_ms << " " << call_timeout_ms << "\n"
      << "interval " << interval_ms << "\n";
  for (const auto& c : clients) {
    out << "client " << c.name << " " << c.token << " " << c.device << " " << c.conv << " "
        << c.sends << "\n";
  }
  return out.str();
}

bool FaultPlan::FromText(const std::string& text, FaultPlan* plan) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string what;
    if (!(f >> what)) continue;
    if (what == "url") {
      f >> plan->url;
    } else if (what == "heartbeat") {
      f >> plan->heartbeat_idle_ms >> plan->heartbeat_timeout_ms;
    } else if (what == "backoff") {
      f >> plan->backoff_min_ms >> plan->backoff_max_ms;
    } else if (what == "timeouts") {
      f >> plan->connect_timeout_ms >> plan->call_timeout_ms;
    } else if (what == "interval") {
      f >> plan->interval_ms;
    } else if (what == "client") {
      FaultClientPlan c;
      f >> c.name >> c.token >> c.device >> c.conv >> c.sends;
      plan->clients.push_back(std::move(c));
    }
    if (f.fail()) return false;
  }
  return !plan->url.empty();
}

}  // namespace parley::test
