// Integration-test fixture; see fixture.h.
#include "tests/integration/fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "tests/integration/server_process.h"

namespace openbits::itest {
namespace fs = std::filesystem;

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
            const std::string& hosts_file = {}, bool new_session = false) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (new_session && ::setsid() < 0) ::_exit(126);
    // Dies with the test: a test binary killed outright (OOM, timeout) leaves no servers.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!hosts_file.empty() &&
        (::unshare(CLONE_NEWNS) != 0 ||
         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
         ::mount(hosts_file.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0)) {
      ::_exit(126);
    }
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

}  // namespace

Nginx::Nginx(const std::string& dir) : dir_(dir + "/nginx"), root_(dir + "/www") {
  fs::create_directories(dir_);
  fs::create_directories(root_);
  fs::permissions(root_, fs::perms::all);
}

Nginx::~Nginx() { stop(); }

void Nginx::start_with_tls(int port, int tls_port) {
  tls_port_ = tls_port;
  auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-days", "2", "-subj", "/CN=openbits-test", "-keyout", dir_ + "/key.pem",
                           "-out", dir_ + "/cert.pem"});
  if (made.exit_code != 0) throw std::runtime_error("openssl failed: " + made.err);
  start(port);
}

std::string Nginx::tls_url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(tls_port_) + path;
}

void Nginx::start(int port) {
  port_ = port;
  std::ofstream conf(dir_ + "/nginx.conf");
  conf << "worker_processes 1; daemon off; master_process off; user root;\n"
       << "pid " << dir_ << "/nginx.pid; error_log " << dir_ << "/error.log;\n"
       << "events { worker_connections 256; }\n"
       << "http {\n  log_format bytes '$request_uri $status $body_bytes_sent';\n"
       << "  access_log " << dir_ << "/access.log bytes;\n"
       << "  client_body_temp_path " << dir_ << "; proxy_temp_path " << dir_ << ";\n"
       << "  fastcgi_temp_path " << dir_ << "; uwsgi_temp_path " << dir_ << ";\n"
       << "  scgi_temp_path " << dir_ << ";\n"
       << "  server { listen 127.0.0.1:" << port << "; root " << root_ << ";\n"
       << "    location /slow/ { alias " << root_ << "/; limit_rate $arg_rate; }\n"
       << extra_config_ << "  }\n";
  if (tls_port_ != 0) {
    conf << "  server { listen 127.0.0.1:" << tls_port_ << " ssl; root " << root_ << ";\n"
         << "    ssl_certificate " << dir_ << "/cert.pem; ssl_certificate_key " << dir_
         << "/key.pem; }\n";
  }
  conf << "}\n";
  conf.close();
  pid_ = spawn({"/usr/sbin/nginx", "-c", dir_ + "/nginx.conf", "-p", dir_}, dir_ + "/stderr.log");
  if (!wait_until([port] { return accepts_connections(port); }, std::chrono::seconds(10))) {
    throw std::runtime_error("nginx did not start: " + read_text(dir_ + "/error.log"));
  }
}

void Nginx::stop() { stop_process(pid_, SIGTERM); }

std::string Nginx::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::uint64_t Nginx::bytes_sent() const {
  std::ifstream in(dir_ + "/access.log");
  std::string uri;
  std::string status;
  std::uint64_t bytes = 0;
  std::uint64_t total = 0;
  while (in >> uri >> status >> bytes) total += bytes;
  return total;
}

int Nginx::requests() const {
  std::ifstream in(dir_ + "/access.log");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

Bitsd::Bitsd(const std::string& dir) : dir_(dir + "/bitsd"), socket_(dir + "/bitsd/bitsd.sock") {
  fs::create_directories(dir_);
}

Bitsd::~Bitsd() { stop_process(pid_, SIGKILL); }

void Bitsd::start(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {OPENBITS_BITSD_PATH, "--state-dir", dir_ + "/state", "--socket",
                                   socket_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(argv, dir_ + "/bitsd.log", hosts_file_, new_session_);
  bool up = wait_until(
      [this] {
        auto m = Manager::connect(socket_);
        return m.ok() && m->daemon_version().ok();
      },
      std::chrono::seconds(10));
  if (!up) throw std::runtime_error("bitsd did not start: " + log());
}

void Bitsd::kill9() { stop_process(pid_, SIGKILL); }
void Bitsd::terminate() { stop_process(pid_, SIGTERM); }
std::string Bitsd::log() const { return read_text(dir_ + "/bitsd.log"); }

Manager Bitsd::connect() const {
  auto m = Manager::connect(socket_);
  if (!m.ok()) throw std::runtime_error("cannot connect: " + m.status().message());
  return std::move(m).value();
}

void make_file(const std::string& path, std::uint64_t size, std::uint32_t seed) {
  std::ofstream out(path, std::ios::binary);
  std::vector<std::uint64_t> block(1 << 16);
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
  for (std::uint64_t written = 0; written < size;) {
    for (auto& word : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      word = x;
    }
    std::uint64_t n = std::min<std::uint64_t>(size - written, block.size() * 8);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    written += n;
  }
  out.close();
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
}

bool files_equal(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary);
  std::ifstream fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  std::vector<char> ba(1 << 20);
  std::vector<char> bb(1 << 20);
  for (;;) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (!std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) return false;
    if (fa.gcount() == 0) return true;
  }
}

bool exists(const std::string& path) { return fs::exists(path); }

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool eventually(const std::function<bool()>& ready) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

std::vector<std::string> temp_files_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".BIT", 0) == 0) found.push_back(name);
  }
  return found;
}

JobState wait_for_state(const Job& job, const std::set<JobState>& states,
                        std::chrono::milliseconds timeout) {
  JobState state = JobState::kSuspended;
  wait_until(
      [&] {
        auto s = job.state();
        if (s.ok()) state = *s;
        return s.ok() && states.count(*s) > 0;
      },
      timeout);
  return state;
}

namespace {

// Kills `pid` with SIGKILL if `done` is not set within `timeout`; joins on destruction.
class Watchdog {
 public:
  Watchdog(pid_t pid, std::optional<std::chrono::milliseconds> timeout) {
    if (!timeout) return;
    thread_ = std::thread([this, pid, timeout] {
      std::unique_lock lock(mutex_);
      if (!done_cv_.wait_for(lock, *timeout, [this] { return done_; })) {
        fired_ = true;
        ::kill(pid, SIGKILL);
      }
    });
  }
  ~Watchdog() { finish(); }
  // Stops the watch (the child has exited); true if it had fired before.
  bool finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

[[noreturn]] void exec_child(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, std::optional<uid_t> uid,
                             int out_pipe[2], int err_pipe[2]) {
  ::dup2(out_pipe[1], 1);
  ::dup2(err_pipe[1], 2);
  // Close every pipe end but 1 and 2: a daemon the command starts (tmux) must not keep
  // the write ends open, or the parent would wait for that daemon to exit.
  for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
  if (uid) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(*uid) != 0 || ::setuid(*uid) != 0) _exit(126);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(args[0], args.data(), envp.data());
  ::_exit(127);
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          std::optional<uid_t> uid,
                          std::optional<std::chrono::milliseconds> timeout) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, env, uid, out_pipe, err_pipe);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  Watchdog watchdog(pid, timeout);
  CommandResult result;
  auto drain = [](int fd, std::string& into) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) into.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
  };
  std::thread err_reader(drain, err_pipe[0], std::ref(result.err));
  drain(out_pipe[0], result.out);
  err_reader.join();
  // Wait without reaping, so the watchdog can never signal a reused pid.
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
  result.timed_out = watchdog.finish();
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

int connect_raw(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::recv(fd, &c, 1, 0) == 1) {
    if (c == '\n') return line;
    line += c;
  }
  return "";
}

std::string run_as(uid_t uid, const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "<pipe failed>";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string text = "<setuid failed>";
    if (::setgroups(0, nullptr) == 0 && ::setgid(uid) == 0 && ::setuid(uid) == 0) text = body();
    ssize_t ignored = ::write(pipe_fds[1], text.data(), text.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? text : "<crashed>";
}

}  // namespace openbits::itest
