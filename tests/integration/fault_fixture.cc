// See fault_fixture.h.
#include "tests/integration/fault_fixture.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "tests/integration/fixture.h"

namespace openbits::itest {
namespace fs = std::filesystem;
namespace {

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    // Dies with the test: a test binary killed outright (OOM, timeout) leaves no servers.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* log = std::fopen(log_path.c_str(), "a");
    if (log) {
      ::dup2(fileno(log), 1);
      ::dup2(fileno(log), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& argv, const std::string& log) {
  return spawn_logged(argv, log);
}

int run_checked(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (code == 127) throw std::runtime_error("cannot run " + argv[0]);
  return code;
}

NetNs::NetNs(const std::string& name, int subnet)
    : server_(name + "s"), client_(name + "c"), subnet_(subnet) {
  std::string net = "10.77." + std::to_string(subnet) + ".";
  std::string here = name + "a";
  std::string there = name + "b";
  for (const std::string& ns : {server_, client_}) {
    run_checked({"ip", "netns", "del", ns});  // a leftover from a crashed run
  }
  auto in = [](const std::string& ns, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
    return run_checked(argv);
  };
  if (run_checked({"ip", "netns", "add", server_}) != 0 ||
      run_checked({"ip", "netns", "add", client_}) != 0 ||
      run_checked({"ip", "link", "add", here, "netns", client_, "type", "veth", "peer", "name",
                   there, "netns", server_}) != 0 ||
      in(client_, {"ip", "addr", "add", net + "1/24", "dev", here}) != 0 ||
      in(client_, {"ip", "link", "set", here, "up"}) != 0 ||
      in(client_, {"ip", "link", "set", "lo", "up"}) != 0 ||
      in(server_, {"ip", "addr", "add", net + "2/24", "dev", there}) != 0 ||
      in(server_, {"ip", "link", "set", there, "up"}) != 0 ||
      in(server_, {"ip", "link", "set", "lo", "up"}) != 0) {
    throw std::runtime_error("cannot set up network namespaces " + server_ + ", " + client_);
  }
}

NetNs::~NetNs() {
  run_checked({"ip", "netns", "del", client_});  // deletes the veth pair with it
  run_checked({"ip", "netns", "del", server_});
}

std::string NetNs::server_ip() const { return "10.77." + std::to_string(subnet_) + ".2"; }

void NetNs::set_link(bool up) {
  std::string there = server_.substr(0, server_.size() - 1) + "b";
  run_checked({"ip", "netns", "exec", server_, "ip", "link", "set", there, up ? "up" : "down"});
}

pid_t NetNs::spawn_in_client(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<std::string> full = {"ip", "netns", "exec", client_};
  full.insert(full.end(), argv.begin(), argv.end());
  return spawn_logged(full, log);
}

FaultServer::FaultServer(const std::string& dir)
    : dir_(dir + "/fault"), root_(dir + "/fault/www"), log_(dir + "/fault/requests.log") {
  fs::create_directories(root_);
}

FaultServer::~FaultServer() { stop(); }

void FaultServer::start(const std::string& ip, const std::string& netns) {
  ip_ = ip;
  // Port 0: the server binds a free port itself and writes it down, so two tests can never
  // race for the same port.
  std::string port_file = dir_ + "/port";
  fs::remove(port_file);
  std::vector<std::string> argv;
  if (!netns.empty()) argv = {"ip", "netns", "exec", netns};
  std::vector<std::string> server = {"python3",     OPENBITS_FAULT_SERVER_PATH,
                                     "--listen",    ip,
                                     "--port-file", port_file,
                                     "--root",      root_,
                                     "--log",       log_};
  argv.insert(argv.end(), server.begin(), server.end());
  pid_ = spawn_logged(argv, dir_ + "/server.out");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!fs::exists(port_file)) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("fault server did not start; see " + dir_ + "/server.out");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream(port_file) >> port_;
  // (From another namespace the address is not reachable from here; the port file says
  // the server is listening.)
  if (netns.empty() && !accepts_connections(port_, ip.c_str())) {
    throw std::runtime_error("fault server is not reachable");
  }
}

void FaultServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);  // `ip netns exec` execs the server, so this is the server
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string FaultServer::url(const std::string& scenario, const std::string& file,
                             const std::string& query) const {
  std::string u = "http://" + ip_ + ":" + std::to_string(port_) + "/" + scenario + "/" + file;
  return query.empty() ? u : u + "?" + query;
}

std::vector<FaultServer::Request> FaultServer::requests(const std::string& scenario) const {
  std::vector<Request> out;
  std::ifstream in(log_);
  std::string line;
  std::string prefix = "/" + scenario + "/";
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    Request r;
    r.time = j.value("t", 0.0);
    r.method = j.value("method", "");
    r.path = j.value("path", "");
    r.range = j.value("range", "");
    r.status = j.value("status", 0);
    r.sent = j.value("sent", std::uint64_t{0});
    if (r.path.rfind(prefix, 0) == 0) out.push_back(r);
  }
  return out;
}

std::uint64_t FaultServer::bytes_sent(const std::string& scenario) const {
  std::uint64_t total = 0;
  for (const Request& r : requests(scenario)) total += r.sent;
  return total;
}

SmallDisk::SmallDisk(const std::string& path, int megabytes) : path_(path) {
  fs::create_directories(path_);
  if (run_checked({"mount", "-t", "tmpfs", "-o",
                   "size=" + std::to_string(megabytes) + "m,mode=0777", "tmpfs", path_}) != 0) {
    throw std::runtime_error("cannot mount a tmpfs on " + path_);
  }
}

SmallDisk::~SmallDisk() { run_checked({"umount", "-l", path_}); }

void SmallDisk::resize(int megabytes) {
  run_checked({"mount", "-o", "remount,size=" + std::to_string(megabytes) + "m", "tmpfs", path_});
}

void SmallDisk::remount_read_only() { run_checked({"mount", "-o", "remount,ro", path_}); }

std::optional<Manager> connect_when_ready(const std::string& socket) {
  for (int i = 0; i < 200; ++i) {
    auto m = Manager::connect(socket);
    if (m.ok() && m->daemon_version().ok()) return std::move(*m);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

}  // namespace openbits::itest
