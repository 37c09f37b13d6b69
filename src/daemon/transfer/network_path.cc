// peer_reachable(): is the path to a server's address usable right now? Asked when a
// transfer fails at the transport level and when the network changes, so that a lost
// link reads BG_E_NETWORK_DISCONNECTED instead of a timeout. A connected UDP socket makes
// the kernel choose the route without sending anything; the route's interface (found by
// the source address it picked) must be up and have carrier.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/common/unique_fd.h"
#include "src/daemon/transfer/transfer_engine.h"

namespace openbits::daemon {
namespace {

bool same_address(const sockaddr* a, const sockaddr_storage& b) {
  if (!a || a->sa_family != b.ss_family) return false;
  if (a->sa_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(a);
  const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
  return std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

}  // namespace

bool peer_reachable(const std::string& ip) {
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&peer);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&peer);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(9);
    peer_len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(9);
    peer_len = sizeof *v6;
  } else {
    return true;  // not an address: nothing to say
  }
  UniqueFd fd(::socket(peer.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return true;
  bool routed = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&peer), peer_len) == 0;
  int err = errno;
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  bool named =
      routed && ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) == 0;
  fd.reset();
  if (!routed) return err != ENETUNREACH && err != EHOSTUNREACH && err != ENETDOWN;
  if (!named) return true;
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return true;
  bool reachable = true;
  for (ifaddrs* i = all; i; i = i->ifa_next) {
    if (same_address(i->ifa_addr, local)) {
      reachable = (i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_RUNNING);
      break;
    }
  }
  ::freeifaddrs(all);
  return reachable;
}

}  // namespace openbits::daemon
