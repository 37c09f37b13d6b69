// Bandwidth policy: reading, checking and evaluating it; see bandwidth_policy.h.
#include "src/daemon/platform/bandwidth_policy.h"

#include <strings.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

namespace openbits::daemon {
namespace {

using nlohmann::json;

constexpr std::int32_t kDay = 24 * 3600;
constexpr std::int32_t kWeek = 7 * kDay;
constexpr std::uint64_t kMinLimit = 256;  // bytes per second (BITS: ~2 kbps)
constexpr std::array<const char*, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

Status refused(const std::string& key, const std::string& what) {
  return Status(hr::E_INVALIDARG, key + ": " + what);
}

Status read_limit(const std::string& key, const json& value, std::optional<std::uint64_t>& out) {
  if (value.is_null()) {
    out.reset();
    return Status();
  }
  if (!value.is_number_unsigned()) {
    return refused(key, "must be a limit in bytes per second (0 or more) or null (unlimited)");
  }
  auto limit = value.get<std::uint64_t>();
  out = limit == 0 ? 0 : std::max(limit, kMinLimit);
  return Status();
}

Status read_limits(const std::string& key, const json& value, PriorityLimits& out) {
  if (!value.is_object()) {
    return refused(key, "must be an object of priority names (high, normal, low) to limits");
  }
  out = {};
  for (const auto& [name, limit] : value.items()) {
    std::optional<std::uint64_t>* slot = nullptr;
    if (strcasecmp(name.c_str(), "high") == 0) slot = &out.high;
    if (strcasecmp(name.c_str(), "normal") == 0) slot = &out.normal;
    if (strcasecmp(name.c_str(), "low") == 0) slot = &out.low;
    if (strcasecmp(name.c_str(), "foreground") == 0) {
      return refused(key, "foreground jobs are never limited");
    }
    if (!slot) return refused(key, "unknown priority '" + name + "' (high, normal or low)");
    std::string field = key;
    field += '.';
    field += name;
    if (Status s = read_limit(field, limit, *slot); !s.ok()) return s;
  }
  return Status();
}

std::optional<int> day_number(const std::string& name) {
  for (std::size_t d = 0; d < kDayNames.size(); ++d) {
    if (strcasecmp(name.c_str(), kDayNames[d]) == 0) return static_cast<int>(d);
  }
  return std::nullopt;
}

// "mon" or a range "mon-fri" (wrapping: "sat-sun").
Status add_days(const std::string& key, const std::string& text, std::uint8_t& days) {
  std::size_t dash = text.find('-');
  auto first = day_number(text.substr(0, dash));
  auto last = dash == std::string::npos ? first : day_number(text.substr(dash + 1));
  if (!first || !last) {
    return refused(key, "unknown day '" + text + "' (sun, mon, ... sat, or a range mon-fri)");
  }
  for (int d = *first;; d = (d + 1) % 7) {
    days = static_cast<std::uint8_t>(days | (1u << d));
    if (d == *last) break;
  }
  return Status();
}

Status read_days(const std::string& key, const json& value, std::uint8_t& days) {
  days = 0;
  if (value.is_string()) return add_days(key, value.get<std::string>(), days);
  if (!value.is_array() || value.empty()) {
    return refused(key, "must be a day name, a range such as mon-fri, or a list of them");
  }
  for (const json& item : value) {
    if (!item.is_string()) return refused(key, "must list day names");
    if (Status s = add_days(key, item.get<std::string>(), days); !s.ok()) return s;
  }
  return Status();
}

// Two digits at `at` of `text`; -1 if they are not.
int two_digits(const std::string& text, std::size_t at) {
  if (at + 2 > text.size()) return -1;
  int value = 0;
  auto [end, error] = std::from_chars(text.data() + at, text.data() + at + 2, value);
  return error == std::errc() && end == text.data() + at + 2 ? value : -1;
}

// "HH:MM" or "HH:MM:SS"; 24:00 only as an end.
Status read_time(const std::string& key, const json& value, bool end, std::int32_t& out) {
  std::string text = value.is_string() ? value.get<std::string>() : "";
  bool shape = (text.size() == 5 || (text.size() == 8 && text[5] == ':')) && text.size() > 2 &&
               text[2] == ':';
  int h = shape ? two_digits(text, 0) : -1;
  int m = shape ? two_digits(text, 3) : -1;
  int s = shape && text.size() == 8 ? two_digits(text, 6) : 0;
  bool in_range = h >= 0 && m >= 0 && m < 60 && s >= 0 && s < 60 &&
                  (h < 24 || (end && h == 24 && m == 0 && s == 0));
  if (!in_range) {
    return refused(key, "must be a time of day HH:MM or HH:MM:SS from 00:00 to " +
                            std::string(end ? "24:00" : "23:59:59") + ", not '" + text + "'");
  }
  out = h * 3600 + m * 60 + s;
  return Status();
}

Status read_window(const std::string& key, const json& value, BandwidthWindow& out) {
  if (!value.is_object()) return refused(key, "must be an object with days, from, to, limits");
  out = {};
  bool have_days = false;
  bool have_from = false;
  bool have_to = false;
  for (const auto& [name, item] : value.items()) {
    Status s;
    if (name == "days") {
      s = read_days(key + ".days", item, out.days);
      have_days = true;
    } else if (name == "from") {
      s = read_time(key + ".from", item, false, out.from_s);
      have_from = true;
    } else if (name == "to") {
      s = read_time(key + ".to", item, true, out.to_s);
      have_to = true;
    } else if (name == "limits") {
      s = read_limits(key + ".limits", item, out.limits);
    } else {
      s = refused(key, "unknown field '" + name + "' (days, from, to, limits)");
    }
    if (!s.ok()) return s;
  }
  if (!have_days || !have_from || !have_to) return refused(key, "needs days, from and to");
  if (out.from_s == out.to_s) return refused(key, "from and to are the same time");
  return Status();
}

// The window's stretches of the week in seconds since Sunday 00:00, [start, end), split
// where they wrap past Saturday night.
std::vector<std::pair<std::int32_t, std::int32_t>> stretches(const BandwidthWindow& w) {
  std::vector<std::pair<std::int32_t, std::int32_t>> out;
  std::int32_t length = w.to_s > w.from_s ? w.to_s - w.from_s : kDay - w.from_s + w.to_s;
  for (int d = 0; d < 7; ++d) {
    if (!(w.days & (1u << d))) continue;
    std::int32_t start = d * kDay + w.from_s;
    std::int32_t end = start + length;
    if (end <= kWeek) {
      out.emplace_back(start, end);
    } else {
      out.emplace_back(start, kWeek);
      out.emplace_back(0, end - kWeek);
    }
  }
  return out;
}

bool overlap(const BandwidthWindow& a, const BandwidthWindow& b) {
  for (auto [a0, a1] : stretches(a)) {
    for (auto [b0, b1] : stretches(b)) {
      if (a0 < b1 && b0 < a1) return true;
    }
  }
  return false;
}

std::string time_text(std::int32_t s) {
  char text[16];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return text;
}

}  // namespace

std::optional<std::uint64_t> PriorityLimits::of(JobPriority priority) const {
  switch (priority) {
    case JobPriority::kHigh:
      return high;
    case JobPriority::kNormal:
      return normal;
    case JobPriority::kLow:
      return low;
    default:
      return std::nullopt;
  }
}

bool BandwidthWindow::contains(int weekday, std::int32_t second) const {
  std::int32_t now = weekday * kDay + second;
  for (auto [start, end] : stretches(*this)) {
    if (now >= start && now < end) return true;
  }
  return false;
}

WeekTime local_week_time(std::int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm local{};
  ::localtime_r(&t, &local);
  return {local.tm_wday, local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec};
}

LimitsInForce limits_in_force(const BandwidthPolicy& policy, WeekTime now) {
  if (policy.maintenance && policy.maintenance->contains(now.weekday, now.second)) {
    return {LimitsInForce::Source::kMaintenance, 0, policy.maintenance->limits};
  }
  for (std::size_t i = 0; i < policy.windows.size(); ++i) {
    if (policy.windows[i].contains(now.weekday, now.second)) {
      return {LimitsInForce::Source::kWindow, i, policy.windows[i].limits};
    }
  }
  return {LimitsInForce::Source::kDefault, 0, policy.outside};
}

Status read_bandwidth_limits(const json& value, PriorityLimits& out) {
  return read_limits("bandwidth_limits", value, out);
}

Status read_bandwidth_windows(const json& value, std::vector<BandwidthWindow>& out) {
  if (!value.is_array()) return refused("bandwidth_windows", "must be a list of windows");
  out.clear();
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::string key = "bandwidth_windows[" + std::to_string(i) + "]";
    BandwidthWindow window;
    if (Status s = read_window(key, value[i], window); !s.ok()) return s;
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (overlap(out[j], window)) {
        return refused(key, "overlaps bandwidth_windows[" + std::to_string(j) + "]");
      }
    }
    out.push_back(window);
  }
  return Status();
}

Status read_bandwidth_maintenance(const json& value, std::optional<BandwidthWindow>& out) {
  if (value.is_null()) {
    out.reset();
    return Status();
  }
  BandwidthWindow window;
  if (Status s = read_window("bandwidth_maintenance", value, window); !s.ok()) return s;
  out = window;
  return Status();
}

json to_json(const PriorityLimits& limits) {
  json out = json::object();
  auto put = [&](const char* name, const std::optional<std::uint64_t>& limit) {
    out[name] = limit ? json(*limit) : json(nullptr);
  };
  put("high", limits.high);
  put("normal", limits.normal);
  put("low", limits.low);
  return out;
}

json to_json(const BandwidthWindow& window) {
  json days = json::array();
  for (std::size_t d = 0; d < kDayNames.size(); ++d) {
    if (window.days & (1u << d)) days.push_back(kDayNames[d]);
  }
  return {{"days", days},
          {"from", time_text(window.from_s)},
          {"to", time_text(window.to_s)},
          {"limits", to_json(window.limits)}};
}

}  // namespace openbits::daemon
