// BandwidthPolicy: the limits background transfers may use, as BITS's Group Policy sets
// them (MaxInternetBandwidth, the work / non-work schedule of EnableBandwidthLimits,
// EnableMaintenanceLimits), read from three config keys (docs/bandwidth.md):
//   bandwidth_limits       per-priority limits outside every window (or always, without)
//   bandwidth_windows      a list of windows (days of the week, from / to), each with limits
//   bandwidth_maintenance  one window whose limits override every other while it lasts
// A limit is in bytes per second per priority (HIGH, NORMAL, LOW; FOREGROUND is never
// limited); absent means unlimited, 0 blocks the priority (BG_E_BLOCKED_BY_POLICY), values
// from 1 to 255 count as 256 (BITS treats anything below ~2 kbps as ~2 kbps). Windows use
// the machine's local time, to the second; a window whose end is not after its start runs
// past midnight into the next day. Windows may not overlap each other (the maintenance
// window may overlap any).
//
// Plain data and pure functions; read once at start-up.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"

namespace openbits::daemon {

// Bytes per second for each background priority; nullopt: unlimited.
struct PriorityLimits {
  std::optional<std::uint64_t> high;
  std::optional<std::uint64_t> normal;
  std::optional<std::uint64_t> low;
  // nullopt for FOREGROUND and for unlimited priorities.
  std::optional<std::uint64_t> of(JobPriority priority) const;
  bool operator==(const PriorityLimits&) const = default;
};

struct BandwidthWindow {
  std::uint8_t days = 0;    // bit d: the window starts on weekday d (0 = Sunday)
  std::int32_t from_s = 0;  // seconds after local midnight
  std::int32_t to_s = 0;    // <= from_s: the window ends on the next day
  PriorityLimits limits;
  // Whether `weekday`/`second` (local time) is inside the window.
  bool contains(int weekday, std::int32_t second) const;
};

struct BandwidthPolicy {
  PriorityLimits outside;  // bandwidth_limits
  std::vector<BandwidthWindow> windows;
  std::optional<BandwidthWindow> maintenance;
  bool empty() const { return outside == PriorityLimits{} && windows.empty() && !maintenance; }
};

// A moment of the local week, as windows read it.
struct WeekTime {
  int weekday = 0;          // 0 = Sunday
  std::int32_t second = 0;  // of the day
};
// The local week time of Unix epoch milliseconds (the machine's time zone).
WeekTime local_week_time(std::int64_t wall_ms);

// The limits in force at `now`, and where they come from.
struct LimitsInForce {
  enum class Source { kDefault, kWindow, kMaintenance };
  Source source = Source::kDefault;
  std::size_t window = 0;  // kWindow: its index in BandwidthPolicy::windows
  PriorityLimits limits;
};
LimitsInForce limits_in_force(const BandwidthPolicy& policy, WeekTime now);

// Readers of the three keys (E_INVALIDARG naming the key and what is wrong). Windows are
// checked against each other when bandwidth_windows is read.
Status read_bandwidth_limits(const nlohmann::json& value, PriorityLimits& out);
Status read_bandwidth_windows(const nlohmann::json& value, std::vector<BandwidthWindow>& out);
Status read_bandwidth_maintenance(const nlohmann::json& value, std::optional<BandwidthWindow>& out);

// The policy as JSON, in the shape the keys take ("days" as names, "from"/"to" as HH:MM:SS).
nlohmann::json to_json(const PriorityLimits& limits);
nlohmann::json to_json(const BandwidthWindow& window);

}  // namespace openbits::daemon
