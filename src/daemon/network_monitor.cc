// NetworkMonitor; see network_monitor.h.
#include "src/daemon/network_monitor.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;

// Several messages arrive for one change (link, then addresses, then routes): react once.
constexpr auto kQuietPeriod = std::chrono::milliseconds(200);

bool is_network_event(std::uint16_t type) {
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return true;
    default:
      return false;
  }
}

}  // namespace

NetworkMonitor::NetworkMonitor(asio::io_context& io, std::function<void()> on_change)
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
        bool relevant = false;
        if (ec == asio::error::no_buffer_space) {
          relevant = true;  // events were lost: assume something changed
        } else if (ec) {
          spdlog::warn("netlink: {}; network changes are no longer watched", ec.message());
          return;
        } else {
          std::size_t offset = 0;
          while (offset + sizeof(nlmsghdr) <= length) {
            nlmsghdr header{};
            std::memcpy(&header, buffer_.data() + offset, sizeof header);
            if (header.nlmsg_len < sizeof header || offset + header.nlmsg_len > length) break;
            if (is_network_event(header.nlmsg_type)) relevant = true;
            offset += (header.nlmsg_len + 3u) & ~3u;  // NLMSG_ALIGN
          }
        }
        if (relevant) changed();
        receive();
      });
}

void NetworkMonitor::changed() {
  debounce_.expires_after(kQuietPeriod);
  debounce_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled by a newer change or by stop()
    on_change_();
  });
}

}  // namespace openbits::daemon
