// A LAN of network namespaces for tests with several real hosts: namespace 0 is the
// origin (10.77.0.1), namespaces 1..N are hosts (10.77.0.(10+i)), all on one bridge that
// lives in a namespace of its own, so the test's own network is never touched. Names are
// unique per test run; the destructor deletes every namespace (and with them the bridge,
// the veths and the routes), even when the test failed.
#pragma once

#include <string>

namespace openbits::daemon::peertest {

class Lan {
 public:
  // Whether namespaces can be made here (root and a working `ip netns`); why not.
  static bool available(std::string* why);
  explicit Lan(int hosts);
  ~Lan();
  Lan(const Lan&) = delete;
  Lan& operator=(const Lan&) = delete;

  std::string netns(int i) const;  // 0: the origin
  std::string ip(int i) const;

 private:
  void add_member(int i);
  void remove_all() const;

  std::string prefix_;
  int hosts_;
};

// While alive, this thread is in network namespace `name` (processes it forks start
// there); back in the namespace it came from afterwards.
class InNetns {
 public:
  explicit InNetns(const std::string& name);
  ~InNetns();
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

 private:
  int home_ = -1;
};

}  // namespace openbits::daemon::peertest
