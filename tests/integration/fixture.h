// Integration-test fixture: a temporary directory, a real nginx origin on a free loopback
// port (counting the bytes it sends), a real bitsd child process (killable with SIGKILL),
// deterministic test files, and running commands as other users.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "openbits/client.h"
#include "tests/support/files.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"

namespace openbits::itest {

// Shared with the unit tests (tests/support/).
using test::accepts_connections;
using test::free_port;
using test::read_text;
using test::TempDir;

class Nginx {
 public:
  explicit Nginx(const std::string& dir);
  ~Nginx();
  void start(int port);
  // Directives added to the plain HTTP server's block by the next start() (e.g. a
  // `location` with add_header).
  void add_server_config(const std::string& lines) { extra_config_ += lines + "\n"; }
  // Also serves HTTPS on `tls_port` with a fresh self-signed certificate for 127.0.0.1.
  void start_with_tls(int port, int tls_port);
  std::string tls_url(const std::string& path) const;
  void stop();
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  const std::string& root() const { return root_; }
  std::uint64_t bytes_sent() const;  // sum of $body_bytes_sent in the access log
  std::string log_path() const { return dir_ + "/access.log"; }  // "$uri $status $bytes"
  int requests() const;

 private:
  std::string dir_;
  std::string root_;
  int port_ = 0;
  int tls_port_ = 0;
  std::string extra_config_;
  pid_t pid_ = -1;
};

class Bitsd {
 public:
  explicit Bitsd(const std::string& dir);
  ~Bitsd();
  void start(const std::vector<std::string>& extra_args = {});
  // From the next start() on, bitsd runs in a mount namespace of its own where /etc/hosts
  // is `path` (name resolution the test controls, e.g. for WPAD's "wpad" host).
  void use_hosts_file(const std::string& path) { hosts_file_ = path; }
  // From the next start() on, bitsd starts as the leader of a new session without a
  // terminal, as systemd and setup.sh's setsid start it (pid() is still the pid they know).
  void lead_session() { new_session_ = true; }
  void kill9();
  void terminate();  // SIGTERM; returns once the process exited
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string log() const;
  Manager connect() const;

 private:
  std::string dir_;
  std::string socket_;
  std::string hosts_file_;
  bool new_session_ = false;
  pid_t pid_ = -1;
};

void make_file(const std::string& path, std::uint64_t size, std::uint32_t seed);
bool files_equal(const std::string& a, const std::string& b);
bool exists(const std::string& path);
std::vector<std::string> temp_files_in(const std::string& dir);  // .BIT*.tmp
// How often `what` occurs in `text`.
std::size_t count(const std::string& text, const std::string& what);
// Polls `ready` every 50 ms for up to a minute; the caller asserts on what it then sees.
bool eventually(const std::function<bool()>& ready);

// Polls the job every 50 ms until its state is one of `states` or the timeout passes.
JobState wait_for_state(const Job& job, const std::set<JobState>& states,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;  // killed (SIGKILL) when the timeout passed
};
// fork/exec without a shell; with `uid`, the child drops to that uid/gid first. With a
// `timeout`, a command still running when it passes is killed and timed_out is set.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          std::optional<uid_t> uid = std::nullopt,
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// Raw JSON-RPC over the daemon's socket, for tests that speak the wire protocol.
int connect_raw(const std::string& socket_path);  // a connected fd, or -1
bool send_all(int fd, const std::string& data);
std::string read_line(int fd);  // one line without '\n'; "" when the peer closed first

// Runs `body` in a forked child that first drops to `uid` (gid = uid, no supplementary
// groups) and returns what the body returned; "<setuid failed>" or "<crashed>" otherwise.
// The body must open its own connections (the daemon reads identity at connect time).
std::string run_as(uid_t uid, const std::function<std::string()>& body);

}  // namespace openbits::itest
