// NetworkMonitor: listens to the kernel's routing netlink (links, addresses, routes) on the
// daemon's io_context and, once per burst of changes (2 s of quiet, or 10 s after the
// burst began), tells the JobManager that the network changed, and whether anything came
// up (a link gained carrier, an address or a route appeared) or only went away. This is
// how jobs parked with BG_E_NETWORK_DISCONNECTED resume as soon as a link is back instead
// of after their retry delay (bits-spec §2.5).
#pragma once

#include <array>
#include <chrono>
#include <functional>

#include "openbits/status.h"
#include "src/common/asio.h"

namespace openbits::daemon {

class NetworkMonitor {
 public:
  NetworkMonitor(boost::asio::io_context& io, std::function<void(bool connected)> on_change);
  // Opens and binds the netlink socket; an error (e.g. no netlink in a sandbox) leaves
  // the monitor off and jobs rely on their retry delay.
  Status start();
  void stop();

 private:
  void receive();
  void changed(bool came_up);

  boost::asio::generic::raw_protocol::socket socket_;
  boost::asio::steady_timer debounce_;
  std::function<void(bool)> on_change_;
  bool came_up_ = false;   // since the last report
  bool in_burst_ = false;  // a report is pending
  std::chrono::steady_clock::time_point burst_started_;
  std::array<char, 16384> buffer_{};
};

}  // namespace openbits::daemon
