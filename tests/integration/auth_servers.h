// Real authenticating servers for credential tests, each started by the test in its own
// directory on free loopback ports:
//   * Kdc: an MIT Kerberos KDC (krb5kdc) with its own realm OPENBITS.TEST, user principals,
//     a keytab for HTTP/localhost, and kinit into a chosen ticket cache;
//   * Apache: apache2 in one foreground process serving /digest/ with HTTP Digest
//     (mod_auth_digest) and, given a Kdc, /negotiate/ with Kerberos Negotiate
//     (mod_auth_gssapi), logging each request's user and Authorization header.
// Programs that must talk to the KDC (apache2, kinit, bitsd) need env() in their
// environment: it names the realm's krb5.conf.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace openbits::itest {

class Kdc {
 public:
  inline static const std::string kRealm = "OPENBITS.TEST";

  explicit Kdc(const std::string& dir);  // creates the realm and starts krb5kdc
  ~Kdc();
  Kdc(const Kdc&) = delete;
  Kdc& operator=(const Kdc&) = delete;

  void add_user(const std::string& name, const std::string& password);
  // A keytab holding HTTP/localhost's key (readable by `owner`), for the web server.
  std::string http_keytab(uid_t owner);
  // Gets `user`'s ticket-granting ticket into the FILE: cache `cache`, owned by `owner`.
  void kinit(const std::string& user, const std::string& password, const std::string& cache,
             uid_t owner);
  // "KRB5_CONFIG=<dir>/krb5.conf": the realm's client configuration.
  std::vector<std::string> env() const;
  const std::string& krb5_conf() const { return krb5_conf_; }

 private:
  void kadmin(const std::string& query);

  std::string dir_;
  std::string krb5_conf_;
  std::string kdc_conf_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class Apache {
 public:
  // Digest realm and its one user for /digest/.
  inline static const std::string kDigestRealm = "openbits-digest";

  // `kdc` may be null: no /negotiate/ then.
  Apache(const std::string& dir, const std::string& digest_user, const std::string& digest_password,
         Kdc* kdc);
  ~Apache();
  Apache(const Apache&) = delete;
  Apache& operator=(const Apache&) = delete;

  // The directory served under /digest/ and /negotiate/ (files put here are served).
  std::string digest_dir() const { return dir_ + "/www/digest"; }
  std::string negotiate_dir() const { return dir_ + "/www/negotiate"; }
  // http://localhost:<port><path> (localhost: the name HTTP/localhost's key is for).
  std::string url(const std::string& path) const;
  struct Request {
    std::string user;          // "-" when not authenticated
    std::string request_line;  // "GET /digest/f HTTP/1.1"
    int status = 0;
    std::string authorization;  // the Authorization header as sent, "-" when none
  };
  std::vector<Request> requests() const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace openbits::itest
