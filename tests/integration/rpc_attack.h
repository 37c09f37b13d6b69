// Tools for attacks on a real bitsd over its socket (memory_test.cc, stall_test.cc): raw
// JSON-RPC calls, a big job built at test time within the limits, a child process that
// holds connections open as another uid, and bitsd's memory from /proc.
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace openbits::itest {

// One JSON-RPC request line (with its '\n').
std::string rpc_line(int id, const std::string& method,
                     const nlohmann::json& params = nlohmann::json::object());
// Sends one request and reads its answer (parsed; discarded JSON when the peer closed).
nlohmann::json rpc_call(int fd, int id, const std::string& method,
                        const nlohmann::json& params = nlohmann::json::object());

// A download job of `files` files, each with `ranges_per_file` byte ranges and a remote
// name of about 2,200 characters (every segment under 260), into `dir`; made over `fd`.
// Returns the job's GUID, or "" (with the failing answer in `error`).
std::string make_big_job(int fd, int port, const std::string& dir, int files, int ranges_per_file,
                         std::string* error = nullptr);
// The same, made by `uid` on its own connection to `socket`: the GUID, or "error ...".
std::string make_big_job_as(uid_t uid, const std::string& socket, int port, const std::string& dir,
                            int files, int ranges_per_file);

// A forked child that drops to `uid` (gid = uid, no groups), runs `setup` (which opens its
// own connections and keeps them), reports what it returned, and holds everything open
// until release() (or destruction).
class HeldChild {
 public:
  HeldChild(uid_t uid, const std::function<std::string()>& setup);
  ~HeldChild() { release(); }
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;
  std::string report();  // what setup returned ("" if the child failed)
  bool release();        // true if the child ended normally

 private:
  int report_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = -1;
};

// A "VmRSS:"-style field of /proc/<pid>/status in KiB (0 if absent).
long status_kib(pid_t pid, const std::string& field);
// utime + stime of a process, in clock ticks.
long cpu_ticks_of(pid_t pid);

}  // namespace openbits::itest
