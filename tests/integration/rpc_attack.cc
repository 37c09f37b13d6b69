// Raw-socket attack tools; see rpc_attack.h.
#include "tests/integration/rpc_attack.h"

#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/fixture.h"

namespace openbits::itest {

using nlohmann::json;

std::string rpc_line(int id, const std::string& method, const json& params) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
}

json rpc_call(int fd, int id, const std::string& method, const json& params) {
  if (!send_all(fd, rpc_line(id, method, params))) return json::value_t::discarded;
  return json::parse(read_line(fd), nullptr, false);
}

namespace {

// With "http://127.0.0.1:PORT" about 2,190 characters: segments under BITS's 260 each.
std::string long_path(int file) {
  std::string path;
  for (int i = 0; i < 10; ++i) path += "/" + std::string(199, static_cast<char>('a' + file % 26));
  return path + "/" + std::string(160, 'z') + "-" + std::to_string(file);
}

json file_spec(int port, const std::string& dir, int file, int ranges) {
  json spec = {{"remote_name", "http://127.0.0.1:" + std::to_string(port) + long_path(file)},
               {"local_name", dir + "/big-" + std::to_string(file)}};
  json list = json::array();
  for (int r = 0; r < ranges; ++r) {
    list.push_back({{"initial_offset", std::uint64_t(r) * 4096}, {"length", 1000}});
  }
  if (ranges > 0) spec["ranges"] = std::move(list);
  return spec;
}

}  // namespace

std::string make_big_job(int fd, int port, const std::string& dir, int files, int ranges_per_file,
                         std::string* error) {
  json created = rpc_call(fd, 1, "manager.create_job", {{"display_name", "big"}});
  if (!created.contains("result")) {
    if (error) *error = created.dump();
    return "";
  }
  std::string id = created["result"]["job_id"];
  constexpr int kBatch = 25;  // files per request: well under the 1 MiB line limit
  for (int first = 0; first < files; first += kBatch) {
    json specs = json::array();
    for (int f = first; f < std::min(files, first + kBatch); ++f) {
      specs.push_back(file_spec(port, dir, f, ranges_per_file));
    }
    json added = rpc_call(fd, 2, "job.add_files", {{"job_id", id}, {"files", specs}});
    if (!added.contains("result")) {
      if (error) *error = added.dump().substr(0, 300);
      return "";
    }
  }
  return id;
}

std::string make_big_job_as(uid_t uid, const std::string& socket, int port, const std::string& dir,
                            int files, int ranges_per_file) {
  return run_as(uid, [&] {
    int fd = connect_raw(socket);
    std::string error;
    std::string id = make_big_job(fd, port, dir, files, ranges_per_file, &error);
    ::close(fd);
    return id.empty() ? "error " + error : id;
  });
}

HeldChild::HeldChild(uid_t uid, const std::function<std::string()>& setup) {
  if (::pipe(report_) != 0 || ::pipe(release_) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(report_[0]);
    ::close(release_[1]);
    rlimit files{4096, 4096};
    ::setrlimit(RLIMIT_NOFILE, &files);
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) _exit(2);
    std::string text = setup();
    (void)!::write(report_[1], text.data(), text.size());
    ::close(report_[1]);
    char byte = 0;
    (void)!::read(release_[0], &byte, 1);  // hold every connection until released
    _exit(0);
  }
  ::close(report_[1]);
  ::close(release_[0]);
  report_[1] = release_[0] = -1;
}

std::string HeldChild::report() {
  std::string text;
  char chunk[4096];
  ssize_t n = 0;
  while ((n = ::read(report_[0], chunk, sizeof chunk)) > 0) text.append(chunk, std::size_t(n));
  return text;
}

bool HeldChild::release() {
  if (pid_ <= 0) return false;
  (void)!::write(release_[1], "x", 1);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  ::close(report_[0]);
  ::close(release_[1]);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}

long cpu_ticks_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stol(field);
  }
  return ticks;
}

}  // namespace openbits::itest
