// Lan and InNetns; see lan.h.
#include "tests/integration/peer/lan.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/server_process.h"

namespace openbits::daemon::peertest {
namespace {

void ip_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/sbin/ip");
  itest::run_or_throw(args);
}

void enter(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  int rc = ::setns(fd, CLONE_NEWNET);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(errno));
}

}  // namespace

bool Lan::available(std::string* why) {
  if (::geteuid() != 0) {
    *why = "not root: network namespaces need CAP_SYS_ADMIN";
    return false;
  }
  std::string probe = "openbits-probe-" + std::to_string(::getpid());
  itest::CommandResult added = itest::run_command({"/usr/sbin/ip", "netns", "add", probe});
  if (added.exit_code != 0) {
    *why = "`ip netns add` does not work here: " + added.err;
    return false;
  }
  itest::run_command({"/usr/sbin/ip", "netns", "del", probe});
  return true;
}

Lan::Lan(int hosts) : prefix_("ob" + std::to_string(::getpid()) + "-"), hosts_(hosts) {
  static int runs = 0;
  prefix_ += std::to_string(++runs);
  try {
    ip_cmd({"netns", "add", prefix_ + "-sw"});
    ip_cmd({"-n", prefix_ + "-sw", "link", "add", "br0", "type", "bridge"});
    ip_cmd({"-n", prefix_ + "-sw", "link", "set", "br0", "up"});
    for (int i = 0; i <= hosts; ++i) add_member(i);
  } catch (...) {
    remove_all();
    throw;
  }
}

void Lan::add_member(int i) {
  std::string ns = netns(i);
  std::string port = "p" + std::to_string(i);
  ip_cmd({"netns", "add", ns});
  ip_cmd({"-n", ns, "link", "set", "lo", "up"});
  ip_cmd({"-n", prefix_ + "-sw", "link", "add", port, "type", "veth", "peer", "name", "eth0",
          "netns", ns});
  ip_cmd({"-n", prefix_ + "-sw", "link", "set", port, "master", "br0", "up"});
  ip_cmd({"-n", ns, "addr", "add", ip(i) + "/24", "dev", "eth0"});
  ip_cmd({"-n", ns, "link", "set", "eth0", "up"});
}

Lan::~Lan() { remove_all(); }

void Lan::remove_all() const {
  for (int i = 0; i <= hosts_; ++i) itest::run_command({"/usr/sbin/ip", "netns", "del", netns(i)});
  itest::run_command({"/usr/sbin/ip", "netns", "del", prefix_ + "-sw"});
}

std::string Lan::netns(int i) const {
  return prefix_ + (i == 0 ? std::string("-o") : "-h" + std::to_string(i));
}

std::string Lan::ip(int i) const { return "10.77.0." + std::to_string(i == 0 ? 1 : 10 + i); }

InNetns::InNetns(const std::string& name) {
  home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ < 0) throw std::runtime_error(std::string("open own netns: ") + std::strerror(errno));
  enter("/var/run/netns/" + name);
}

InNetns::~InNetns() {
  ::setns(home_, CLONE_NEWNET);
  ::close(home_);
}

}  // namespace openbits::daemon::peertest
