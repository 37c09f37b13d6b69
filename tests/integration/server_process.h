// Helpers shared by the test-server fixtures (proxy_servers.h, tls_servers.h): writing
// small files (read_text in tests/support/files.h reads them), running a setup command, and
// a server child process started by the test (spawn_process in fault_fixture.h) that is
// awaited until it listens and stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace openbits::itest {

// Writes `text` to `path` (replacing it); throws when it cannot.
void save_text(const std::string& path, const std::string& text);

// Runs argv (PATH lookup, no shell) and returns its standard output; throws with its
// standard error unless it exits 0.
std::string run_or_throw(const std::vector<std::string>& argv);

// Waits (at most 15 s) until something accepts TCP connections on 127.0.0.1:port. Throws,
// quoting the file `log`, when the child `pid` exits first or the time runs out.
void wait_until_listening(pid_t pid, int port, const std::string& what, const std::string& log);

// Sends `signal` to the child `pid` (if any), reaps it and sets pid to -1.
void stop_process(pid_t& pid, int signal);

// Replaces each escape `marker` + two hex digits by its byte: marker % for squid's log
// (a%20b -> "a b"), marker \x for nginx's (a\x22b -> a"b). Other text is kept.
std::string decode_escapes(const std::string& text, const std::string& marker);

// Splits `line` at each `separator`.
std::vector<std::string> split(const std::string& line, char separator);

// The lines of a log file that end with a newline (not one still being written), without it.
std::vector<std::string> complete_lines(const std::string& path);

// Calls `read` (which returns a vector) every 20 ms until it returns at least `count`
// items or `timeout` passed; returns its last result.
template <typename Read>
auto wait_for_count(const Read& read, std::size_t count, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto items = read();
  while (items.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    items = read();
  }
  return items;
}

}  // namespace openbits::itest
