// Kerberos KDC and Apache fixtures; see auth_servers.h.
#include "tests/integration/auth_servers.h"

#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/fixture.h"

namespace openbits::itest {
namespace fs = std::filesystem;
namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

// `argv` run with the extra environment `env`; throws unless it exits 0.
void run_with(const std::vector<std::string>& env, std::vector<std::string> argv) {
  argv.insert(argv.begin(), env.begin(), env.end());
  argv.insert(argv.begin(), "/usr/bin/env");
  if (run_checked(argv) != 0) throw std::runtime_error("failed: " + argv.back());
}

// Waits until something accepts TCP connections on 127.0.0.1:port (at most 15 s).
void wait_for_port(int port, const std::string& what, const std::string& log) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (run_checked({"/usr/bin/env", "bash", "-c",
                     "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)}) == 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  throw std::runtime_error(what + " did not start: " + text.str());
}

std::string md5_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xF]);
  }
  return hex;
}

}  // namespace

Kdc::Kdc(const std::string& dir)
    : dir_(dir), krb5_conf_(dir + "/krb5.conf"), kdc_conf_(dir + "/kdc.conf") {
  fs::create_directories(dir_);
  port_ = free_port();
  std::string port = std::to_string(port_);
  write_text(krb5_conf_, "[libdefaults]\n  default_realm = " + kRealm +
                             "\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n"
                             "  rdns = false\n[realms]\n  " +
                             kRealm + " = {\n    kdc = 127.0.0.1:" + port +
                             "\n  }\n[domain_realm]\n  localhost = " + kRealm + "\n");
  write_text(kdc_conf_, "[kdcdefaults]\n  kdc_ports = " + port + "\n  kdc_tcp_ports = " + port +
                            "\n[realms]\n  " + kRealm + " = {\n    database_name = " + dir_ +
                            "/principal\n    key_stash_file = " + dir_ +
                            "/stash\n    acl_file = " + dir_ + "/kadm5.acl\n  }\n");
  run_with({"KRB5_CONFIG=" + krb5_conf_, "KRB5_KDC_PROFILE=" + kdc_conf_},
           {"kdb5_util", "create", "-s", "-r", kRealm, "-P", "master-password"});
  kadmin("addprinc -randkey HTTP/localhost");
  pid_ = spawn_process({"/usr/bin/env", "KRB5_CONFIG=" + krb5_conf_,
                        "KRB5_KDC_PROFILE=" + kdc_conf_, "krb5kdc", "-n"},
                       dir_ + "/kdc.log");
  wait_for_port(port_, "krb5kdc", dir_ + "/kdc.log");
}

Kdc::~Kdc() { stop(pid_); }

void Kdc::kadmin(const std::string& query) {
  run_with({"KRB5_CONFIG=" + krb5_conf_, "KRB5_KDC_PROFILE=" + kdc_conf_},
           {"kadmin.local", "-q", query});
}

void Kdc::add_user(const std::string& name, const std::string& password) {
  kadmin("addprinc -pw " + password + " " + name);
}

std::string Kdc::http_keytab(uid_t owner) {
  std::string keytab = dir_ + "/http.keytab";
  if (!fs::exists(keytab)) kadmin("ktadd -norandkey -k " + keytab + " HTTP/localhost");
  if (::chown(keytab.c_str(), owner, static_cast<gid_t>(-1)) != 0) {
    throw std::runtime_error("cannot chown " + keytab);
  }
  return keytab;
}

void Kdc::kinit(const std::string& user, const std::string& /*password*/, const std::string& cache,
                uid_t owner) {
  // A keytab with the user's current key (-norandkey keeps the password valid) lets kinit
  // run without a terminal.
  std::string keytab = dir_ + "/" + user + ".keytab";
  if (!fs::exists(keytab)) kadmin("ktadd -norandkey -k " + keytab + " " + user);
  run_with(env(), {"kinit", "-k", "-t", keytab, "-c", "FILE:" + cache, user});
  if (::chown(cache.c_str(), owner, static_cast<gid_t>(-1)) != 0) {
    throw std::runtime_error("cannot chown " + cache);
  }
}

std::vector<std::string> Kdc::env() const { return {"KRB5_CONFIG=" + krb5_conf_}; }

Apache::Apache(const std::string& dir, const std::string& digest_user,
               const std::string& digest_password, Kdc* kdc)
    : dir_(dir) {
  fs::create_directories(digest_dir());
  fs::create_directories(negotiate_dir());
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  // htdigest's format: user:realm:MD5(user:realm:password)
  write_text(dir_ + "/digest.users",
             digest_user + ":" + kDigestRealm + ":" +
                 md5_hex(digest_user + ":" + kDigestRealm + ":" + digest_password) + "\n");
  port_ = free_port();
  const std::string modules = "/usr/lib/apache2/modules/";
  std::string conf = "ServerRoot " + dir_ + "\nListen 127.0.0.1:" + std::to_string(port_) +
                     "\nServerName localhost\nPidFile " + dir_ + "/httpd.pid\nErrorLog " + dir_ +
                     "/error.log\nLogFormat \"%u|%r|%>s|%{Authorization}i\" openbits\nCustomLog " +
                     dir_ +
                     "/access.log openbits\n"
                     "User nobody\nGroup nogroup\nDocumentRoot " +
                     dir_ + "/www\n";
  for (const char* module :
       {"mpm_event", "authz_core", "authn_core", "authn_file", "authz_user", "auth_digest"}) {
    conf += std::string("LoadModule ") + module + "_module " + modules + "mod_" + module + ".so\n";
  }
  conf += "<Directory " + digest_dir() + ">\n  AuthType Digest\n  AuthName \"" + kDigestRealm +
          "\"\n  AuthDigestDomain /digest/\n  AuthUserFile " + dir_ +
          "/digest.users\n  Require valid-user\n</Directory>\n";
  std::vector<std::string> argv = {"/usr/bin/env"};
  if (kdc != nullptr) {
    conf += "LoadModule auth_gssapi_module " + modules + "mod_auth_gssapi.so\n";
    conf += "<Directory " + negotiate_dir() +
            ">\n  AuthType GSSAPI\n  AuthName \"Kerberos\"\n  GssapiCredStore keytab:" +
            kdc->http_keytab(65534) +
            "\n  GssapiAllowedMech krb5\n  Require valid-user\n</Directory>\n";
    for (const auto& e : kdc->env()) argv.push_back(e);
  }
  write_text(dir_ + "/httpd.conf", conf);
  for (const char* arg : {"apache2", "-X", "-f"}) argv.emplace_back(arg);
  argv.push_back(dir_ + "/httpd.conf");
  pid_ = spawn_process(argv, dir_ + "/apache.out");
  wait_for_port(port_, "apache2", dir_ + "/apache.out");
}

Apache::~Apache() { stop(pid_); }

std::string Apache::url(const std::string& path) const {
  return "http://localhost:" + std::to_string(port_) + path;
}

std::vector<Apache::Request> Apache::requests() const {
  std::vector<Request> out;
  std::ifstream in(dir_ + "/access.log");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      std::size_t bar = line.find('|', start);
      if (bar == std::string::npos) break;
      fields.push_back(line.substr(start, bar - start));
      start = bar + 1;
    }
    if (fields.size() != 3) continue;
    fields.push_back(line.substr(start));
    out.push_back({fields[0], fields[1], std::atoi(fields[2].c_str()), fields[3]});
  }
  return out;
}

}  // namespace openbits::itest
