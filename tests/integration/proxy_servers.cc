// Squid fixture; see proxy_servers.h.
#include "tests/integration/proxy_servers.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <stdexcept>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/fixture.h"
#include "tests/integration/server_process.h"

namespace openbits::itest {
namespace fs = std::filesystem;
namespace {

const std::string kHelpers = "/usr/lib/squid/";

// Squid started as root runs as the `proxy` user: it must write its logs in `dir`, and its
// authentication helpers must read the password files there.
void give_to_proxy_user(const std::string& dir) {
  const passwd* proxy = ::getpwnam("proxy");
  if (proxy == nullptr) throw std::runtime_error("no user 'proxy' (is squid installed?)");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (::chown(entry.path().c_str(), proxy->pw_uid, proxy->pw_gid) != 0) {
      throw std::runtime_error("cannot chown " + entry.path().string());
    }
  }
  if (::chown(dir.c_str(), proxy->pw_uid, proxy->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + dir);
  }
}

// Squid's log line "%rm %ru %un %>Hs %{X-Openbits-Test}>h"; false for a connection that
// ended before sending a request (method "-").
bool parse_request(const std::string& line, Squid::Request& request) {
  std::vector<std::string> fields = split(line, ' ');
  if (fields.size() != 5 || fields[0] == "-") return false;
  const std::string& status = fields[3];
  auto [end, error] = std::from_chars(status.data(), status.data() + status.size(), request.status);
  if (error != std::errc() || end != status.data() + status.size()) return false;
  request.method = fields[0];
  request.url = fields[1];
  request.user = decode_escapes(fields[2], "%");
  request.test_header = decode_escapes(fields[4], "%");
  return true;
}

}  // namespace

Squid::Squid(const std::string& dir, Auth auth, const std::string& user,
             const std::string& password)
    : dir_(dir) {
  start(0, auth, user, password);
}

Squid::Squid(const std::string& dir, int origin_port, Auth auth, const std::string& user,
             const std::string& password)
    : dir_(dir) {
  start(origin_port, auth, user, password);
}

Squid::~Squid() { stop_process(pid_, SIGKILL); }

void Squid::start(int origin_port, Auth auth, const std::string& user,
                  const std::string& password) {
  fs::create_directories(dir_);
  port_ = free_port();
  save_text(dir_ + "/squid.conf", config(origin_port, auth, user, password));
  give_to_proxy_user(dir_);
  pid_ = spawn_process({"/usr/sbin/squid", "-N", "-f", dir_ + "/squid.conf"}, dir_ + "/squid.out");
  try {
    wait_until_listening(pid_, port_, "squid", dir_ + "/squid.out");
  } catch (const std::exception&) {
    stop_process(pid_, SIGKILL);
    throw;
  }
}

std::string Squid::config(int origin_port, Auth auth, const std::string& user,
                          const std::string& password) {
  std::string port = std::to_string(port_);
  std::string conf;
  if (origin_port != 0) {
    std::string origin = std::to_string(origin_port);
    conf += "http_port 127.0.0.1:" + port + " accel defaultsite=127.0.0.1:" + origin +
            " no-vhost\ncache_peer 127.0.0.1 parent " + origin +
            " 0 no-query originserver name=origin\ncache_peer_access origin allow all\n";
  } else {
    conf += "http_port 127.0.0.1:" + port + "\n";
  }
  conf += "pid_filename " + dir_ + "/squid.pid\ncache_log " + dir_ +
          "/cache.log\nlogformat openbits %rm %ru %un %>Hs %{X-Openbits-Test}>h\n"
          "access_log stdio:" +
          dir_ + "/access.log openbits\ncache_store_log none\ncoredump_dir " + dir_ +
          "\nnetdb_filename none\npinger_enable off\ncache deny all\n"
          "visible_hostname openbits-test-proxy\nshutdown_lifetime 0 seconds\n";
  conf += setup_auth(auth, user, password);
  // No Safe_ports/SSL_ports rules: CONNECT to any port (the tests' HTTPS origins).
  conf += auth == Auth::kNone ? "http_access allow all\n"
                              : "http_access deny !authed\nhttp_access allow all\n";
  return conf;
}

std::string Squid::setup_auth(Auth auth, const std::string& user, const std::string& password) {
  if (auth == Auth::kNone) return "";
  if (auth == Auth::kNtlm) {
    return "auth_param ntlm program " + kHelpers +
           "ntlm_fake_auth\nauth_param ntlm children 2\nacl authed " +
           (user.empty() ? "proxy_auth REQUIRED" : "proxy_auth_regex -i " + user) + "\n";
  }
  if (user.empty()) throw std::runtime_error("squid: Basic and Digest need a user");
  std::string acl = "acl authed proxy_auth " + user + "\n";
  if (auth == Auth::kBasic) {
    std::string hash = run_or_throw({"openssl", "passwd", "-apr1", password});
    save_text(dir_ + "/basic.htpasswd", user + ":" + hash);
    return "auth_param basic program " + kHelpers + "basic_ncsa_auth " + dir_ +
           "/basic.htpasswd\nauth_param basic children 2\nauth_param basic realm " + kRealm + "\n" +
           acl;
  }
  save_text(dir_ + "/digest.users", user + ":" + password + "\n");
  return "auth_param digest program " + kHelpers + "digest_file_auth " + dir_ +
         "/digest.users\nauth_param digest children 2\nauth_param digest realm " + kRealm + "\n" +
         acl;
}

std::string Squid::proxy_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string Squid::url(const std::string& path) const { return proxy_url() + path; }

std::vector<Squid::Request> Squid::requests() const {
  std::vector<Request> out;
  Request request;
  for (const auto& line : complete_lines(dir_ + "/access.log")) {
    if (parse_request(line, request)) out.push_back(request);
  }
  return out;
}

std::vector<Squid::Request> Squid::wait_for_requests(std::size_t count,
                                                     std::chrono::milliseconds timeout) const {
  return wait_for_count([this] { return requests(); }, count, timeout);
}

std::string Squid::cache_log() const { return read_text(dir_ + "/cache.log"); }

}  // namespace openbits::itest
