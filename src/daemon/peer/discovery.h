// Discovery: finding peers on the subnet by UDP multicast (docs/peer-caching.md, "The
// protocol between peers"). A host that serves announces {"v":1,"t":"announce","port":P}
// to the group when it starts and every announce_interval, and answers a query
// {"v":1,"t":"query"} with a unicast announce after a random delay of up to
// max_answer_delay. Each announce heard (multicast or unicast) is handed to on_announce as
// "ADDR:PORT" (the datagram's source address, the announced port). An announce proves
// nothing: the registry authenticates the peer over mutual TLS before it is used.
// Malformed datagrams and our own are ignored. Multicast TTL 1: it stays on the link.
// Threading: runs on the io_context's thread; query() may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "openbits/status.h"
#include "src/common/asio.h"

namespace openbits::daemon {

struct DiscoveryOptions {
  std::string group = "239.255.66.77:7377";  // peer_multicast_group
  // The IPv4 address whose interface sends and joins the group ("" or 0.0.0.0: the
  // kernel's choice, the interface of the default route).
  std::string interface_address;
  unsigned server_port = 0;  // announced; 0: this host serves no one (it only queries)
  std::chrono::milliseconds announce_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds max_answer_delay{1000};
};

class Discovery {
 public:
  using OnAnnounce = std::function<void(const std::string& address)>;
  Discovery(boost::asio::io_context& io, DiscoveryOptions options, OnAnnounce on_announce);
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;
  ~Discovery();

  // Opens the sockets, joins the group, starts listening and (when serving) announces.
  [[nodiscard]] Status start();
  void query();  // sends a query to the group
  void stop();   // closes the sockets (on the io_context's thread, or after it stopped)

  std::uint64_t ignored_datagrams() const { return ignored_; }

 private:
  struct Sockets;
  void receive(boost::asio::ip::udp::socket& socket);
  void handle(const char* data, std::size_t size, const boost::asio::ip::udp::endpoint& from);
  bool is_own(const boost::asio::ip::udp::endpoint& from) const;
  void send(const std::string& datagram, const boost::asio::ip::udp::endpoint& to);
  void schedule_announce();
  void answer_later(const boost::asio::ip::udp::endpoint& to);

  boost::asio::io_context& io_;
  DiscoveryOptions options_;
  OnAnnounce on_announce_;
  std::unique_ptr<Sockets> sockets_;
  std::vector<boost::asio::ip::address> local_addresses_;
  std::mt19937 random_;
  std::size_t pending_answers_ = 0;
  std::uint64_t ignored_ = 0;
};

}  // namespace openbits::daemon
