// Interface byte counters from sysfs and local addresses from getifaddrs; see
// interface_counters.h.
#include "src/daemon/transfer/interface_counters.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <fstream>

namespace openbits::daemon {
namespace {

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

bool same_address(const sockaddr* address, const in_addr& v4, const in6_addr& v6, int family) {
  if (!address || address->sa_family != family) return false;
  if (family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr == v4.s_addr;
  }
  const auto* six = reinterpret_cast<const sockaddr_in6*>(address);
  return std::memcmp(&six->sin6_addr, &v6, sizeof v6) == 0;
}

}  // namespace

std::optional<InterfaceBytes> SystemInterfaceCounters::read(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') return std::nullopt;
  std::string dir = "/sys/class/net/" + name + "/statistics/";
  auto rx = read_number(dir + "rx_bytes");
  auto tx = read_number(dir + "tx_bytes");
  if (!rx || !tx) return std::nullopt;
  return InterfaceBytes{*rx, *tx};
}

std::optional<LocalInterface> SystemInterfaceCounters::interface_of(const std::string& ip) {
  in_addr v4{};
  in6_addr v6{};
  int family = 0;
  if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    family = AF_INET;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    family = AF_INET6;
  } else {
    return std::nullopt;
  }
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<LocalInterface> found;
  for (ifaddrs* it = list; it && !found; it = it->ifa_next) {
    if (same_address(it->ifa_addr, v4, v6, family)) {
      found = LocalInterface{it->ifa_name, (it->ifa_flags & IFF_LOOPBACK) != 0};
    }
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace openbits::daemon
