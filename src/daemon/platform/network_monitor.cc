// NetworkMonitor; see network_monitor.h.
#include "src/daemon/platform/network_monitor.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;

// Several messages arrive for one change (link, then addresses, then routes), and other
// programs make changes in bursts (containers, VPNs, virtual machines creating and
// removing interfaces): changes less than kQuietPeriod apart form one burst, reported once
// when it has been quiet that long, or kMaxBurst after the burst began if it never is.
constexpr auto kQuietPeriod = std::chrono::seconds(2);
constexpr auto kMaxBurst = std::chrono::seconds(10);

enum class Event { kNone, kDown, kUp };

// What one netlink message means for connectivity. `payload` follows the header.
Event classify(const nlmsghdr& header, const char* payload, std::size_t payload_size) {
  switch (header.nlmsg_type) {
    case RTM_NEWLINK: {
      ifinfomsg link{};
      if (payload_size < sizeof link) return Event::kDown;
      std::memcpy(&link, payload, sizeof link);
      return (link.ifi_flags & IFF_RUNNING) != 0 ? Event::kUp : Event::kDown;
    }
    case RTM_NEWADDR:
    case RTM_NEWROUTE:
      return Event::kUp;
    case RTM_DELLINK:
    case RTM_DELADDR:
    case RTM_DELROUTE:
      return Event::kDown;
    default:
      return Event::kNone;
  }
}

}  // namespace

NetworkMonitor::NetworkMonitor(asio::io_context& io, std::function<void(bool)> on_change)
    : socket_(io), debounce_(io), on_change_(std::move(on_change)) {}

Status NetworkMonitor::start() {
  asio::generic::raw_protocol protocol(AF_NETLINK, NETLINK_ROUTE);
  boost::system::error_code ec;
  socket_.open(protocol, ec);
  if (ec) return Status(hr::E_FAIL, "netlink socket: " + ec.message());
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups =
      RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  asio::generic::raw_protocol::endpoint endpoint(&local, sizeof local, NETLINK_ROUTE);
  socket_.bind(endpoint, ec);
  if (ec) {
    socket_.close();
    return Status(hr::E_FAIL, "netlink bind: " + ec.message());
  }
  receive();
  return Status();
}

void NetworkMonitor::stop() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  debounce_.cancel();
}

void NetworkMonitor::receive() {
  socket_.async_receive(
      asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t length) {
        if (ec == asio::error::operation_aborted) return;
        Event seen = Event::kNone;
        if (ec == asio::error::no_buffer_space) {
          seen = Event::kUp;  // events were lost: assume something came up
        } else if (ec) {
          spdlog::warn("netlink: {}; network changes are no longer watched", ec.message());
          return;
        } else {
          std::size_t offset = 0;
          while (offset + sizeof(nlmsghdr) <= length) {
            nlmsghdr header{};
            std::memcpy(&header, buffer_.data() + offset, sizeof header);
            if (header.nlmsg_len < sizeof header || offset + header.nlmsg_len > length) break;
            Event e = classify(header, buffer_.data() + offset + NLMSG_HDRLEN,
                               header.nlmsg_len - NLMSG_HDRLEN);
            if (e > seen) seen = e;
            offset += (header.nlmsg_len + 3u) & ~3u;  // NLMSG_ALIGN
          }
        }
        if (seen != Event::kNone) changed(seen == Event::kUp);
        receive();
      });
}

void NetworkMonitor::changed(bool came_up) {
  came_up_ = came_up_ || came_up;
  auto now = std::chrono::steady_clock::now();
  if (!in_burst_) burst_started_ = now;
  in_burst_ = true;
  debounce_.expires_at(std::min(now + kQuietPeriod, burst_started_ + kMaxBurst));
  debounce_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled by a newer change or by stop()
    bool up = came_up_;
    came_up_ = false;
    in_burst_ = false;
    on_change_(up);
  });
}

}  // namespace openbits::daemon
