// Squid (Debian's squid 5.7) as a real proxy for credential and proxy tests, started by the
// test in its own directory on a free loopback port, in the foreground (squid -N), with no
// disk cache and no caching at all (every request reaches the origin):
//   * forward proxy (proxy_url()): demands no authentication, or Basic (basic_ncsa_auth and
//     an htpasswd file), Digest (digest_file_auth) or NTLM (ntlm_fake_auth) with 407; CONNECT
//     is allowed to any port, so HTTPS goes through it as a tunnel;
//   * reverse proxy (accelerator, url(path)) in front of an origin on 127.0.0.1, demanding
//     the same schemes as a server (401 with WWW-Authenticate).
// NTLM: ntlm_fake_auth accepts any password. Squid 5.7's NTLM parser misreads the names in
// curl's (and libcurl's) type-3 message by one byte, so user "alice" is logged as
// "a\alicew": match NTLM users with find(). The user name is still checked: a user whose
// name does not contain the configured one is challenged again (407/401).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace openbits::itest {

class Squid {
 public:
  enum class Auth { kNone, kBasic, kDigest, kNtlm };
  inline static const std::string kRealm = "openbits-proxy";  // Basic and Digest realm

  // A forward proxy demanding `auth` (407 and Proxy-Authenticate). `user` is the one user
  // accepted (Basic and Digest need one; for NTLM it is a pattern the logged name must
  // contain, any user when empty); `password` is for Basic and Digest (NTLM takes any).
  // Writes the configuration and password files into `dir` (made usable for the `proxy`
  // user squid runs as) and starts squid; returns once it accepts connections.
  Squid(const std::string& dir, Auth auth, const std::string& user = "",
        const std::string& password = "");
  // A reverse proxy (accelerator) in front of http://127.0.0.1:<origin_port>, demanding
  // `auth` as the server does (401 and WWW-Authenticate); the rest as above.
  Squid(const std::string& dir, int origin_port, Auth auth, const std::string& user = "",
        const std::string& password = "");
  ~Squid();  // SIGKILL: stopping gracefully takes squid a second; its helpers then exit
  Squid(const Squid&) = delete;
  Squid& operator=(const Squid&) = delete;

  int port() const { return port_; }
  // Forward proxy: "http://127.0.0.1:<port>".
  std::string proxy_url() const;
  // Reverse proxy: "http://127.0.0.1:<port><path>".
  std::string url(const std::string& path) const;

  // One line of squid's access log, written when a request ends.
  struct Request {
    std::string method;       // "GET", "CONNECT"
    std::string url;          // absolute URL ("http://127.0.0.1:8080/f"; the origin's in reverse
                              // mode), or "127.0.0.1:8443" for CONNECT
    std::string user;         // authenticated user, "-" when none
    int status = 0;           // status sent to the client (407, 200)
    std::string test_header;  // the request's X-Openbits-Test header, "-" when none
  };
  // The requests logged so far, in order (connections that sent no request are left out).
  std::vector<Request> requests() const;
  // Polls until at least `count` requests are logged (the log is written just after the
  // response); returns them all, fewer only when `timeout` passed.
  std::vector<Request> wait_for_requests(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  std::string cache_log() const;  // squid's own log, for failure messages

 private:
  void start(int origin_port, Auth auth, const std::string& user, const std::string& password);
  std::string config(int origin_port, Auth auth, const std::string& user,
                     const std::string& password);
  // Writes the password file for `auth`; returns its auth_param and acl lines.
  std::string setup_auth(Auth auth, const std::string& user, const std::string& password);

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace openbits::itest
