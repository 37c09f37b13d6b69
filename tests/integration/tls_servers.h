// TLS test servers: certificate authorities made by the test with the openssl CLI, and one
// nginx (its own configuration, separate from fixture.h's Nginx) started by the test in its
// own directory, serving the same files (root()) on:
//   * a plain-HTTP port (http_url()), which also publishes the CRLs;
//   * one HTTPS port per Server below (url(server, path)), each with its own certificate for
//     127.0.0.1 and localhost unless its name says otherwise.
// Every port has these locations:
//   /<file>             the file under root()
//   /basic/<file>       the same file behind HTTP Basic (the user and password given)
//   /redirect/<path>    302 to /<path> on the same server
//   /to-http/<path>     302 to http_url("/<path>") (from HTTPS: a downgrade to plain HTTP)
//   /loop/<path>        302 to itself, forever
//   /crl/ca.crl         the trusted CA's CRL (DER); /crl/untrusted.crl the other CA's
// Each request is logged with its port, request line, status, client certificate subject
// and X-Openbits-Test header (requests()).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

namespace openbits::itest {

// A certificate authority in its own directory, made with `openssl req` and run with
// `openssl ca` (so certificates can have any validity period and be revoked). EC P-256
// keys, unencrypted.
class TestCa {
 public:
  TestCa(const std::string& dir, const std::string& common_name);
  const std::string& cert() const { return cert_; }  // the CA certificate, PEM

  struct Issued {
    std::string cert;  // PEM certificate file
    std::string key;   // PEM private key file
  };
  // Issues <dir>/<name>.pem and <name>.key for `subject` ("/O=x/CN=y") with the X.509v3
  // `extensions` (openssl configuration lines), valid from `start` to `end` (openssl
  // times such as "20200101000000Z"); from now for 30 days when they are empty.
  Issued issue(const std::string& name, const std::string& subject, const std::string& extensions,
               const std::string& start = "", const std::string& end = "");
  void revoke(const Issued& issued);
  // Writes the CA's current CRL (valid 30 days) to `path`, DER.
  void write_crl(const std::string& path);

 private:
  std::vector<std::string> ca_command(std::vector<std::string> args) const;

  std::string dir_;
  std::string config_;
  std::string cert_;
};

class TlsServers {
 public:
  enum class Server {
    kGood,                // good certificate for IP 127.0.0.1 and DNS localhost
    kExpired,             // valid January 2020 only
    kWrongName,           // for wrong.example only (CN and subjectAltName)
    kWrongUsage,          // extendedKeyUsage clientAuth only
    kUntrusted,           // issued by the other CA (untrusted_ca_file())
    kRevoked,             // listed in the trusted CA's CRL
    kCrlUnreachable,      // its crlDistributionPoints names a closed port
    kClientCertRequired,  // good certificate; ssl_verify_client on (mutual TLS)
    kClientCertOptional,  // good certificate; ssl_verify_client optional
  };
  static constexpr std::size_t kServerCount = 9;

  // The client certificate for mutual TLS, issued by the trusted CA (clientAuth).
  struct ClientCert {
    std::string cert;         // PEM certificate
    std::string key;          // PEM private key, unencrypted
    std::string combined;     // certificate then key in one PEM file
    std::string pkcs12;       // PKCS#12 holding certificate and key, empty password
    std::string sha1;         // SHA-1 thumbprint: 40 uppercase hex digits
    std::string subject;      // RFC 2253, as nginx logs it: "CN=openbits test client,O=openbits"
    std::string common_name;  // "openbits test client"
  };

  // Makes both CAs, every certificate and the CRLs in `dir`, then starts nginx; returns
  // once every port accepts connections. /basic/ accepts only basic_user:basic_password.
  TlsServers(const std::string& dir, const std::string& basic_user,
             const std::string& basic_password);
  ~TlsServers();
  TlsServers(const TlsServers&) = delete;
  TlsServers& operator=(const TlsServers&) = delete;

  const std::string& ca_file() const { return ca_.cert(); }  // the trusted test CA, PEM
  const std::string& untrusted_ca_file() const { return untrusted_ca_.cert(); }
  std::string cert_file(Server server) const;  // the server's certificate, PEM
  const ClientCert& client() const { return client_; }
  const std::string& root() const { return root_; }  // files served by every port

  // https://127.0.0.1:<server's port><path>
  std::string url(Server server, const std::string& path) const;
  int port(Server server) const { return ports_[static_cast<std::size_t>(server)]; }
  // http://127.0.0.1:<plain port><path>
  std::string http_url(const std::string& path) const;
  int http_port() const { return http_port_; }
  // The trusted CA's CRL: its URL (as in the certificates' crlDistributionPoints) and the
  // same CRL as a local PEM file.
  std::string crl_url() const { return http_url("/crl/ca.crl"); }
  std::string crl_pem_file() const { return dir_ + "/crl/ca.crl.pem"; }

  struct Request {
    int port = 0;              // the server's port
    std::string request_line;  // "GET /f HTTP/1.1"
    int status = 0;
    std::string client_subject;  // the client certificate's subject (RFC 2253), "-" if none
    std::string test_header;     // the X-Openbits-Test header, "-" when none
    std::string user;            // the Basic user, "-" when none
  };
  // The requests logged so far, in order.
  std::vector<Request> requests() const;
  // Polls until at least `count` requests are logged (nginx logs just after the response);
  // returns them all, fewer only when `timeout` passed.
  std::vector<Request> wait_for_requests(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  void make_server_certs();
  void make_client_cert();
  void publish_crls();
  std::string nginx_config() const;
  std::string locations_config() const;
  std::string server_block(Server server) const;
  void start_nginx();

  std::string dir_;
  std::string root_;
  TestCa ca_;
  TestCa untrusted_ca_;
  int http_port_ = 0;
  int closed_port_ = 0;
  std::array<int, kServerCount> ports_{};
  std::array<TestCa::Issued, kServerCount> certs_{};
  ClientCert client_;
  pid_t pid_ = -1;
};

}  // namespace openbits::itest
