// Multicast announce and query; see discovery.h.
#include "src/daemon/peer/discovery.h"

#include <ifaddrs.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "src/daemon/peer/peer_protocol.h"

namespace openbits::daemon {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

constexpr std::size_t kMaxPendingAnswers = 32;  // queries answered at once; more are dropped

// "ADDR:PORT" of an IPv4 group.
Result<udp::endpoint> parse_group(const std::string& text) {
  auto colon = text.rfind(':');
  boost::system::error_code ec;
  if (colon == std::string::npos) return Status(hr::E_INVALIDARG, "wants ADDR:PORT");
  auto address = asio::ip::make_address_v4(text.substr(0, colon), ec);
  unsigned long port = 0;
  try {
    port = std::stoul(text.substr(colon + 1));
  } catch (const std::exception&) {
    ec = asio::error::invalid_argument;
  }
  if (ec || port == 0 || port > 65535 || !address.is_multicast()) {
    return Status(hr::E_INVALIDARG, "peer_multicast_group " + text + ": not an IPv4 group");
  }
  return udp::endpoint(address, static_cast<unsigned short>(port));
}

std::vector<asio::ip::address> local_addresses() {
  std::vector<asio::ip::address> out = {asio::ip::address_v4::loopback()};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    out.emplace_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
  }
  freeifaddrs(list);
  return out;
}

std::string address_text(const udp::endpoint& from, unsigned port) {
  return from.address().to_string() + ":" + std::to_string(port);
}

}  // namespace

struct Discovery::Sockets {
  explicit Sockets(asio::io_context& io) : group_socket(io), send_socket(io), announce_timer(io) {}
  udp::endpoint group;
  udp::socket group_socket;  // bound to the group: its multicast datagrams only
  udp::socket send_socket;   // sends, and receives the unicast answers to its queries
  asio::steady_timer announce_timer;
  struct Buffer {
    std::array<char, 1500> data{};
    udp::endpoint from;
  };
  Buffer group_buffer, send_buffer;
};

Discovery::Discovery(asio::io_context& io, DiscoveryOptions options, OnAnnounce on_announce)
    : io_(io),
      options_(std::move(options)),
      on_announce_(std::move(on_announce)),
      random_(std::random_device{}()) {}

Discovery::~Discovery() {
  try {
    stop();
  } catch (const std::exception& e) {  // cancel() throws only on a broken timer service
    spdlog::warn("peer discovery: stopping: {}", e.what());
  }
}

Status Discovery::start() {
  auto group = parse_group(options_.group);
  if (!group.ok()) return group.status();
  boost::system::error_code ec;
  asio::ip::address_v4 interface = asio::ip::address_v4::any();
  if (!options_.interface_address.empty()) {
    interface = asio::ip::make_address_v4(options_.interface_address, ec);
    if (ec) return Status(hr::E_INVALIDARG, "multicast interface " + options_.interface_address);
  }
  auto sockets = std::make_unique<Sockets>(io_);
  sockets->group = *group;
  auto& g = sockets->group_socket;
  g.open(udp::v4(), ec);
  if (!ec) g.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) g.bind(udp::endpoint(group->address(), group->port()), ec);
  if (!ec) g.set_option(asio::ip::multicast::join_group(group->address().to_v4(), interface), ec);
  auto& s = sockets->send_socket;
  if (!ec) s.open(udp::v4(), ec);
  if (!ec) s.bind(udp::endpoint(interface, 0), ec);
  if (!ec) s.set_option(asio::ip::multicast::hops(1), ec);
  if (!ec) s.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec && !interface.is_unspecified()) {
    s.set_option(asio::ip::multicast::outbound_interface(interface), ec);
  }
  if (ec) return Status(hr::E_FAIL, "peer discovery on " + options_.group + ": " + ec.message());
  sockets_ = std::move(sockets);
  local_addresses_ = local_addresses();
  receive(sockets_->group_socket);
  receive(sockets_->send_socket);
  if (options_.server_port != 0) {
    send(peer::announce_datagram(options_.server_port), sockets_->group);
    schedule_announce();
  }
  return Status();
}

void Discovery::stop() {
  if (!sockets_) return;
  boost::system::error_code ec;
  sockets_->announce_timer.cancel();
  sockets_->group_socket.close(ec);
  sockets_->send_socket.close(ec);
}

void Discovery::query() {
  asio::post(io_, [this] {
    if (sockets_ && sockets_->send_socket.is_open()) {
      send(peer::query_datagram(), sockets_->group);
    }
  });
}

void Discovery::receive(udp::socket& socket) {
  auto& buffer =
      &socket == &sockets_->group_socket ? sockets_->group_buffer : sockets_->send_buffer;
  socket.async_receive_from(asio::buffer(buffer.data), buffer.from,
                            [this, &socket, &buffer](boost::system::error_code ec, std::size_t n) {
                              if (ec == asio::error::operation_aborted || !socket.is_open()) return;
                              if (!ec) handle(buffer.data.data(), n, buffer.from);
                              receive(socket);
                            });
}

bool Discovery::is_own(const udp::endpoint& from) const {
  boost::system::error_code ec;
  auto own = sockets_->send_socket.local_endpoint(ec);
  return !ec && from.port() == own.port() &&
         std::find(local_addresses_.begin(), local_addresses_.end(), from.address()) !=
             local_addresses_.end();
}

void Discovery::handle(const char* data, std::size_t size, const udp::endpoint& from) {
  auto datagram = is_own(from) ? std::nullopt : peer::parse_datagram({data, size});
  if (!datagram) {
    ++ignored_;
    return;
  }
  if (datagram->type == peer::Datagram::Type::kAnnounce) {
    on_announce_(address_text(from, datagram->port));
  } else if (options_.server_port != 0) {
    answer_later(from);
  }
}

void Discovery::send(const std::string& datagram, const udp::endpoint& to) {
  auto bytes = std::make_shared<std::string>(datagram);
  sockets_->send_socket.async_send_to(
      asio::buffer(*bytes), to, [bytes, to](boost::system::error_code ec, std::size_t) {
        if (ec && ec != asio::error::operation_aborted) {
          spdlog::debug("peer discovery: send to {}: {}", to.address().to_string(), ec.message());
        }
      });
}

void Discovery::schedule_announce() {
  sockets_->announce_timer.expires_after(options_.announce_interval);
  sockets_->announce_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || !sockets_->send_socket.is_open()) return;
    send(peer::announce_datagram(options_.server_port), sockets_->group);
    schedule_announce();
  });
}

void Discovery::answer_later(const udp::endpoint& to) {
  if (pending_answers_ >= kMaxPendingAnswers) return;
  ++pending_answers_;
  auto max = std::max<std::int64_t>(options_.max_answer_delay.count(), 0);
  std::uniform_int_distribution<std::int64_t> delay(0, max);
  auto timer = std::make_shared<asio::steady_timer>(io_);
  timer->expires_after(std::chrono::milliseconds(delay(random_)));
  timer->async_wait([this, timer, to](boost::system::error_code ec) {
    --pending_answers_;
    if (ec || !sockets_->send_socket.is_open()) return;
    send(peer::announce_datagram(options_.server_port), to);
  });
}

}  // namespace openbits::daemon
