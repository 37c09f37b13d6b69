// Fixtures for tests that break things: the scriptable fault-injecting origin
// (tests/faultserver/fault_server.py, a separate process), a network namespace joined to
// this one by a veth pair whose link the test can cut, and a tmpfs the test can fill.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "openbits/client.h"

namespace openbits::itest {

// Two "hosts" joined by a veth pair, each in its own network namespace: a server side with
// address 10.77.<subnet>.2 and a client side with 10.77.<subnet>.1, where the test runs
// bitsd. Keeping both ends out of this namespace keeps the link changes the test makes
// invisible to every other daemon on the machine. Removed by the destructor.
class NetNs {
 public:
  NetNs(const std::string& name, int subnet);
  ~NetNs();
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  const std::string& server() const { return server_; }
  const std::string& client() const { return client_; }
  std::string server_ip() const;
  // Takes the server's end of the link down or up: the client side loses or regains
  // carrier, as when a cable is pulled.
  void set_link(bool up);
  // Starts argv inside the client namespace, output appended to `log`.
  pid_t spawn_in_client(const std::vector<std::string>& argv, const std::string& log);

 private:
  std::string server_;
  std::string client_;
  int subnet_;
};

// A Manager on `socket` once the bitsd behind it answers (a bitsd just spawned, in a
// namespace, say); nullopt after 10 s.
std::optional<Manager> connect_when_ready(const std::string& socket);

class FaultServer {
 public:
  explicit FaultServer(const std::string& dir);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;
  // Listens on 127.0.0.1 (or `ip` inside namespace `netns`).
  void start(const std::string& ip = "127.0.0.1", const std::string& netns = "");
  void stop();
  // http://ip:port/<scenario>/<file>?<query>
  std::string url(const std::string& scenario, const std::string& file,
                  const std::string& query = "") const;
  const std::string& root() const { return root_; }

  struct Request {
    double time = 0;  // Unix time, seconds
    std::string method;
    std::string path;
    std::string range;
    int status = 0;
    std::uint64_t sent = 0;
  };
  // Requests whose path starts with /<scenario>/, in arrival order.
  std::vector<Request> requests(const std::string& scenario) const;
  std::uint64_t bytes_sent(const std::string& scenario) const;

 private:
  std::string dir_;
  std::string root_;
  std::string log_;
  std::string ip_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A tmpfs of `megabytes` MiB mounted on `path` (created); unmounted by the destructor.
class SmallDisk {
 public:
  SmallDisk(const std::string& path, int megabytes);
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  void resize(int megabytes);
  void remount_read_only();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Starts argv (PATH lookup, no shell) in the background, output appended to `log`.
pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log);

// Runs argv (no shell) and returns its exit code; throws on exec failure.
int run_checked(const std::vector<std::string>& argv);

}  // namespace openbits::itest
