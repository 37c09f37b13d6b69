// Shared parts of the peer tests; see peer_fixture.h.
#include "tests/integration/peer/peer_fixture.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sched.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "src/common/hex.h"
#include "tests/integration/server_process.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon::peertest {
namespace {

// Peer certificates are both client and server (each host is both).
constexpr const char* kPeerExtensions =
    "basicConstraints=CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=serverAuth,clientAuth\n"
    "subjectAltName=IP:127.0.0.1\n";

}  // namespace

FleetCerts::FleetCerts(const std::string& dir)
    : fleet(dir + "/fleet", "fleet CA"), other(dir + "/other", "other CA") {
  host1 = fleet.issue("host1", "/O=fleet/CN=host1", kPeerExtensions);
  host2 = fleet.issue("host2", "/O=fleet/CN=host2", kPeerExtensions);
  expired = fleet.issue("expired", "/O=fleet/CN=expired", kPeerExtensions, "20200101000000Z",
                        "20200201000000Z");
  server_only = fleet.issue("server-only", "/O=fleet/CN=server-only",
                            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                            "subjectAltName=IP:127.0.0.1\n");
  stranger = other.issue("stranger", "/O=other/CN=stranger", kPeerExtensions);
}

const FleetCerts& certs() {
  static test::TempDir dir("openbits-peer-certs");
  static FleetCerts made(dir.path());
  return made;
}

CacheSource::CacheSource(const std::string& dir) : dir_(dir) {
  std::filesystem::create_directories(dir);
  auto opened = Store::open(dir + "/jobs.db");
  if (!opened.ok()) throw std::runtime_error(opened.status().message());
  store_ = std::move(*opened);
  cache_ = std::make_unique<PeerCache>(
      *store_, clock_, dir, std::nullopt,
      [](const std::string&) -> Result<std::uint64_t> { return std::uint64_t{1} << 34; });
  if (Status s = cache_->load(); !s.ok()) throw std::runtime_error(s.message());
}

PeerCacheRecord CacheSource::add(const std::string& url, const std::string& bytes) {
  std::string path = dir_ + "/user-file-" + std::to_string(++files_);
  std::ofstream(path, std::ios::binary) << bytes;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  PeerCacheRecord record;
  record.url = url;
  record.size = bytes.size();
  record.last_modified = "Wed, 21 Oct 2026 07:28:00 GMT";
  record.etag = "\"v1\"";
  record.validated = true;
  std::lock_guard lock(mutex_);
  auto added = cache_->add(record, fd.get());
  if (!added.ok() || !*added) throw std::runtime_error("content not cached");
  return **added;
}

Status CacheSource::remove(const Guid& id) {
  std::lock_guard lock(mutex_);
  return cache_->remove(id);
}

Result<PeerCache::Lease> CacheSource::begin_serve(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto lease = cache_->begin_serve(key);
  if (lease.ok()) ++leases;
  return lease;
}

void CacheSource::end_serve(const Guid& id) {
  std::lock_guard lock(mutex_);
  cache_->end_serve(id);
  --leases;
}

Config peer_config(const PeerTlsFiles& files, bool listen, const std::string& group) {
  Config config;
  config.peer_ca_file = files.ca_file;
  config.peer_cert_file = files.cert_file;
  config.peer_key_file = files.key_file;
  if (listen) config.peer_listen = "127.0.0.1:0";
  config.peer_discovery = !group.empty();
  if (!group.empty()) config.peer_multicast_group = group;
  return config;
}

std::vector<std::string> curl_argv(const PeerTlsFiles& files, const std::string& url,
                                   const std::string& out, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/curl", "--noproxy", "*",           "-sS", "--max-time",
                                   "120",           "--cacert",  files.ca_file, "-o",  out};
  if (!files.cert_file.empty()) {
    argv.insert(argv.end(), {"--cert", files.cert_file, "--key", files.key_file});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  return argv;
}

Fetched curl_peer(const PeerTlsFiles& files, const std::string& url, const std::string& dir,
                  std::vector<std::string> args) {
  static std::atomic<int> counter{0};
  std::string name = dir + "/curl-" + std::to_string(++counter);
  std::filesystem::remove(name + ".head");
  std::filesystem::remove(name + ".body");
  args.insert(args.begin(), {"-D", name + ".head"});
  auto result = itest::run_command(curl_argv(files, url, name + ".body", std::move(args)), {},
                                   std::nullopt, std::chrono::seconds(150));
  return {result.exit_code, test::read_text(name + ".head"), test::read_text(name + ".body"),
          result.err, result.out};
}

unsigned Fetched::status() const {
  // The last status line: curl writes a 100 Continue's head too.
  auto at = head.rfind("HTTP/1.1 ");
  if (at == std::string::npos) return 0;
  return static_cast<unsigned>(std::strtoul(head.c_str() + at + 9, nullptr, 10));
}

std::string Fetched::header(const std::string& name) const {
  std::string lower_head = head;
  std::string lower_name = name + ":";
  for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower_head.find("\n" + lower_name);
  if (at == std::string::npos) return {};
  auto start = at + 1 + lower_name.size();
  auto end = head.find('\r', start);
  std::string value = head.substr(start, end - start);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

std::string pattern(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random() & 0xFF);
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex_encode(std::span<const std::uint8_t>(digest, sizeof digest));
}

std::string sha256_base64(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string out(44, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, sizeof digest);
  return out;
}

bool enter_private_network(std::string* why) {
  if (unshare(CLONE_NEWNET) != 0) {
    *why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    return false;
  }
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ip", "link", "set", "lo", "up", "multicast", "on"},
        std::vector<std::string>{"ip", "route", "add", "224.0.0.0/4", "dev", "lo"}}) {
    try {
      itest::run_or_throw(argv);
    } catch (const std::exception& e) {
      *why = e.what();
      return false;
    }
  }
  return true;
}

}  // namespace openbits::daemon::peertest
