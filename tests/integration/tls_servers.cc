// Test CAs and the TLS nginx; see tls_servers.h.
#include "tests/integration/tls_servers.h"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <stdexcept>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/fixture.h"
#include "tests/integration/server_process.h"

namespace openbits::itest {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kNewKey = {"-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:prime256v1", "-nodes"};

std::string ca_config(const std::string& dir) {
  return "[ ca ]\ndefault_ca = test_ca\n"
         "[ test_ca ]\ndir = " +
         dir +
         "\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/issued\n"
         "certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\nserial = $dir/serial\n"
         "crlnumber = $dir/crlnumber\ndefault_md = sha256\ndefault_days = 30\n"
         "default_crl_days = 30\npolicy = any_name\nunique_subject = no\nemail_in_dn = no\n"
         "[ any_name ]\norganizationName = optional\ncommonName = supplied\n"
         "[ req ]\ndistinguished_name = empty\n[ empty ]\n"
         "[ v3_ca ]\nbasicConstraints = critical, CA:TRUE\n"
         "keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n";
}

// Extensions of a server certificate for `names` (subjectAltName values) with extended key
// usage `usage`, naming `crl` as its CRL distribution point (none when empty).
std::string server_extensions(const std::string& names, const std::string& usage,
                              const std::string& crl) {
  std::string text =
      "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
      "extendedKeyUsage = " +
      usage + "\nsubjectAltName = " + names + "\nauthorityKeyIdentifier = keyid\n";
  if (!crl.empty()) text += "crlDistributionPoints = URI:" + crl + "\n";
  return text;
}

// "sha1 Fingerprint=AB:CD:...\n" -> "ABCD..."
std::string thumbprint(const std::string& cert) {
  std::string out =
      run_or_throw({"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha1"});
  std::string hex = out.substr(out.find('=') + 1);
  std::erase_if(hex, [](char c) { return c == ':' || c == '\n'; });
  return hex;
}

std::string subject_rfc2253(const std::string& cert) {
  std::string out =
      run_or_throw({"openssl", "x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253"});
  std::string subject = out.substr(out.find('=') + 1);
  subject.erase(subject.find_last_not_of('\n') + 1);
  return subject;
}

int to_int(const std::string& text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : -1;
}

// nginx's log line: port, request line, status, client subject, X-Openbits-Test, user,
// separated by tabs (which nginx escapes inside values, as \x09).
bool parse_request(const std::string& line, TlsServers::Request& request) {
  std::vector<std::string> fields = split(line, '\t');
  if (fields.size() != 6) return false;
  request.port = to_int(fields[0]);
  request.status = to_int(fields[2]);
  if (request.port < 0 || request.status < 0) return false;
  request.request_line = decode_escapes(fields[1], "\\x");
  request.client_subject = decode_escapes(fields[3], "\\x");
  request.test_header = decode_escapes(fields[4], "\\x");
  request.user = decode_escapes(fields[5], "\\x");
  return true;
}

}  // namespace

TestCa::TestCa(const std::string& dir, const std::string& common_name)
    : dir_(dir), config_(dir + "/ca.cnf"), cert_(dir + "/ca.pem") {
  fs::create_directories(dir_ + "/issued");
  save_text(dir_ + "/index.txt", "");
  save_text(dir_ + "/serial", "1000\n");
  save_text(dir_ + "/crlnumber", "1000\n");
  save_text(config_, ca_config(dir_));
  std::vector<std::string> req = {"openssl", "req", "-x509", "-new"};
  req.insert(req.end(), kNewKey.begin(), kNewKey.end());
  req.insert(req.end(),
             {"-keyout", dir_ + "/ca.key", "-out", cert_, "-days", "365", "-subj",
              "/O=openbits/CN=" + common_name, "-config", config_, "-extensions", "v3_ca"});
  run_or_throw(req);
}

std::vector<std::string> TestCa::ca_command(std::vector<std::string> args) const {
  args.insert(args.begin(), {"openssl", "ca", "-batch", "-config", config_});
  return args;
}

TestCa::Issued TestCa::issue(const std::string& name, const std::string& subject,
                             const std::string& extensions, const std::string& start,
                             const std::string& end) {
  Issued issued{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
  std::string csr = dir_ + "/" + name + ".csr";
  std::vector<std::string> req = {"openssl", "req",      "-new", "-subj", subject,
                                  "-keyout", issued.key, "-out", csr};
  req.insert(req.end(), kNewKey.begin(), kNewKey.end());
  run_or_throw(req);
  save_text(dir_ + "/" + name + ".ext", extensions);
  std::vector<std::string> sign = {
      "-notext", "-in", csr, "-out", issued.cert, "-extfile", dir_ + "/" + name + ".ext"};
  if (!start.empty()) sign.insert(sign.end(), {"-startdate", start});
  if (!end.empty()) sign.insert(sign.end(), {"-enddate", end});
  run_or_throw(ca_command(sign));
  return issued;
}

void TestCa::revoke(const Issued& issued) { run_or_throw(ca_command({"-revoke", issued.cert})); }

void TestCa::write_crl(const std::string& path) {
  run_or_throw(ca_command({"-gencrl", "-out", path + ".pem"}));
  run_or_throw({"openssl", "crl", "-in", path + ".pem", "-outform", "DER", "-out", path});
}

TlsServers::TlsServers(const std::string& dir, const std::string& basic_user,
                       const std::string& basic_password)
    : dir_(dir),
      root_(dir + "/www"),
      ca_(dir + "/ca", "openbits test CA"),
      untrusted_ca_(dir + "/untrusted-ca", "openbits untrusted CA") {
  fs::create_directories(root_);
  fs::create_directories(dir_ + "/crl");
  fs::permissions(root_, fs::perms::all);
  http_port_ = free_port();
  closed_port_ = free_port();  // nothing listens there
  for (int& port : ports_) port = free_port();
  std::string hash = run_or_throw({"openssl", "passwd", "-apr1", basic_password});
  save_text(dir_ + "/basic.htpasswd", basic_user + ":" + hash);
  make_server_certs();
  make_client_cert();
  publish_crls();
  start_nginx();
}

TlsServers::~TlsServers() { stop_process(pid_, SIGTERM); }

void TlsServers::make_server_certs() {
  const std::string local = "/CN=127.0.0.1";
  const std::string names = "IP:127.0.0.1, DNS:localhost";
  const std::string crl = crl_url();
  const std::string unreachable = "http://127.0.0.1:" + std::to_string(closed_port_) + "/ca.crl";
  auto at = [this](Server server) -> TestCa::Issued& {
    return certs_[static_cast<std::size_t>(server)];
  };
  at(Server::kGood) = ca_.issue("good", local, server_extensions(names, "serverAuth", crl));
  at(Server::kClientCertRequired) = at(Server::kGood);
  at(Server::kClientCertOptional) = at(Server::kGood);
  at(Server::kExpired) = ca_.issue("expired", local, server_extensions(names, "serverAuth", crl),
                                   "20200101000000Z", "20200201000000Z");
  at(Server::kWrongName) = ca_.issue("wrong-name", "/CN=wrong.example",
                                     server_extensions("DNS:wrong.example", "serverAuth", crl));
  at(Server::kWrongUsage) =
      ca_.issue("wrong-usage", local, server_extensions(names, "clientAuth", crl));
  at(Server::kUntrusted) = untrusted_ca_.issue(
      "untrusted", local, server_extensions(names, "serverAuth", http_url("/crl/untrusted.crl")));
  at(Server::kRevoked) = ca_.issue("revoked", local, server_extensions(names, "serverAuth", crl));
  ca_.revoke(at(Server::kRevoked));
  at(Server::kCrlUnreachable) =
      ca_.issue("crl-unreachable", local, server_extensions(names, "serverAuth", unreachable));
}

void TlsServers::make_client_cert() {
  TestCa::Issued issued =
      ca_.issue("client", "/O=openbits/CN=openbits test client",
                "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid\n");
  client_.cert = issued.cert;
  client_.key = issued.key;
  client_.combined = dir_ + "/ca/client-combined.pem";
  save_text(client_.combined, read_text(issued.cert) + read_text(issued.key));
  client_.pkcs12 = dir_ + "/ca/client.p12";
  run_or_throw({"openssl", "pkcs12", "-export", "-in", issued.cert, "-inkey", issued.key, "-name",
                "openbits test client", "-passout", "pass:", "-out", client_.pkcs12});
  for (const std::string& file : {client_.cert, client_.key, client_.combined, client_.pkcs12}) {
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
  }
  client_.sha1 = thumbprint(issued.cert);
  client_.subject = subject_rfc2253(issued.cert);
  client_.common_name = "openbits test client";
}

void TlsServers::publish_crls() {
  ca_.write_crl(dir_ + "/crl/ca.crl");
  untrusted_ca_.write_crl(dir_ + "/crl/untrusted.crl");
}

std::string TlsServers::cert_file(Server server) const {
  return certs_[static_cast<std::size_t>(server)].cert;
}

std::string TlsServers::url(Server server, const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port(server)) + path;
}

std::string TlsServers::http_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + path;
}

std::string TlsServers::locations_config() const {
  return "root " + root_ +
         ";\n"
         "location /redirect/ { rewrite ^/redirect/(.*)$ /$1 redirect; }\n"
         "location /to-http/ { rewrite ^/to-http/(.*)$ " +
         http_url("/$1") +
         " redirect; }\n"
         "location /loop/ { return 302 $uri; }\n"
         "location /basic/ { alias " +
         root_ + "/; auth_basic \"openbits-basic\"; auth_basic_user_file " + dir_ +
         "/basic.htpasswd; }\n"
         "location /crl/ { alias " +
         dir_ + "/crl/; }\n";
}

std::string TlsServers::server_block(Server server) const {
  const TestCa::Issued& cert = certs_[static_cast<std::size_t>(server)];
  std::string block = "  server { listen 127.0.0.1:" + std::to_string(port(server)) +
                      " ssl;\n    ssl_certificate " + cert.cert + "; ssl_certificate_key " +
                      cert.key + ";\n";
  if (server == Server::kClientCertRequired || server == Server::kClientCertOptional) {
    block += std::string("    ssl_verify_client ") +
             (server == Server::kClientCertRequired ? "on" : "optional") +
             "; ssl_client_certificate " + ca_file() + ";\n";
  }
  return block + "    include " + dir_ + "/locations.conf;\n  }\n";
}

std::string TlsServers::nginx_config() const {
  std::string conf =
      "worker_processes 1; daemon off; master_process off; user root;\n"
      "pid " +
      dir_ + "/nginx.pid; error_log " + dir_ +
      "/error.log;\n"
      "events { worker_connections 256; }\n"
      "http {\n  default_type application/octet-stream;\n"
      "  log_format openbits '$server_port\t$request\t$status\t$ssl_client_s_dn\t"
      "$http_x_openbits_test\t$remote_user';\n"
      "  access_log " +
      dir_ + "/access.log openbits;\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    conf += std::string("  ") + temp + "_temp_path " + dir_ + ";\n";
  }
  conf += "  server { listen 127.0.0.1:" + std::to_string(http_port_) + ";\n    include " + dir_ +
          "/locations.conf;\n  }\n";
  for (std::size_t i = 0; i < kServerCount; ++i) conf += server_block(static_cast<Server>(i));
  return conf + "}\n";
}

void TlsServers::start_nginx() {
  save_text(dir_ + "/locations.conf", locations_config());
  save_text(dir_ + "/nginx.conf", nginx_config());
  pid_ = spawn_process({"/usr/sbin/nginx", "-c", dir_ + "/nginx.conf", "-p", dir_},
                       dir_ + "/nginx.out");
  try {
    wait_until_listening(pid_, http_port_, "nginx", dir_ + "/error.log");
    for (int port : ports_) wait_until_listening(pid_, port, "nginx", dir_ + "/error.log");
  } catch (const std::exception&) {
    stop_process(pid_, SIGKILL);
    throw;
  }
}

std::vector<TlsServers::Request> TlsServers::requests() const {
  std::vector<Request> out;
  Request request;
  for (const auto& line : complete_lines(dir_ + "/access.log")) {
    if (parse_request(line, request)) out.push_back(request);
  }
  return out;
}

std::vector<TlsServers::Request> TlsServers::wait_for_requests(
    std::size_t count, std::chrono::milliseconds timeout) const {
  return wait_for_count([this] { return requests(); }, count, timeout);
}

}  // namespace openbits::itest
