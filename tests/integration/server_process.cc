// See server_process.h.
#include "tests/integration/server_process.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/integration/fixture.h"

namespace openbits::itest {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void save_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string run_or_throw(const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"/usr/bin/env"};
  full.insert(full.end(), argv.begin(), argv.end());
  CommandResult result = run_command(full, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
  if (result.exit_code != 0) {
    throw std::runtime_error(argv.front() + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
  return result.out;
}

void wait_until_listening(pid_t pid, int port, const std::string& what, const std::string& log) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (accepts_connections(port)) return;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      throw std::runtime_error(what + " exited at start: " + read_text(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(what + " did not start listening on port " + std::to_string(port) +
                           ": " + read_text(log));
}

void stop_process(pid_t& pid, int signal) {
  if (pid <= 0) return;
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

std::string decode_escapes(const std::string& text, const std::string& marker) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t digits = i + marker.size();
    bool escape = text.compare(i, marker.size(), marker) == 0 && digits + 1 < text.size() &&
                  hex_value(text[digits]) >= 0 && hex_value(text[digits + 1]) >= 0;
    if (escape) {
      out.push_back(static_cast<char>(hex_value(text[digits]) * 16 + hex_value(text[digits + 1])));
      i = digits + 2;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t at = line.find(separator); at != std::string::npos;
       at = line.find(separator, start)) {
    fields.push_back(line.substr(start, at - start));
    start = at + 1;
  }
  fields.push_back(line.substr(start));
  return fields;
}

std::vector<std::string> complete_lines(const std::string& path) {
  std::vector<std::string> lines = split(read_text(path), '\n');
  lines.pop_back();  // "" after the last newline, or a line still being written
  return lines;
}

}  // namespace openbits::itest
