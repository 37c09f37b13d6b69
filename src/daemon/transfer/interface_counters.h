// InterfaceCounters: the byte counters of network interfaces, and which interface holds a
// local address. The engine's yield (yield_controller.h) reads them behind this interface
// so tests can feed their own numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace openbits::daemon {

struct InterfaceBytes {
  std::uint64_t rx = 0;  // received since the interface was created
  std::uint64_t tx = 0;  // sent
};

struct LocalInterface {
  std::string name;
  bool loopback = false;
};

class InterfaceCounters {
 public:
  virtual ~InterfaceCounters() = default;
  // The interface's counters now; nullopt when it is gone or unreadable.
  virtual std::optional<InterfaceBytes> read(const std::string& name) = 0;
  // The interface that holds the local address `ip` (numeric IPv4 or IPv6); nullopt when
  // none does.
  virtual std::optional<LocalInterface> interface_of(const std::string& ip) = 0;
};

// /sys/class/net/NAME/statistics/{rx,tx}_bytes (the sysfs of the network namespace it was
// mounted for, as `ip netns exec` arranges) and getifaddrs(3).
class SystemInterfaceCounters final : public InterfaceCounters {
 public:
  std::optional<InterfaceBytes> read(const std::string& name) override;
  std::optional<LocalInterface> interface_of(const std::string& ip) override;
};

}  // namespace openbits::daemon
