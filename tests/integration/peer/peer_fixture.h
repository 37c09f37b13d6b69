// Shared parts of the peer tests: a fleet of certificates made with openssl (the fleet CA,
// two hosts, an expired host, a server-only certificate, and a second CA with its own
// host), a content source over a real PeerCache on a real Store in a temp directory, curl
// as an independent client, and a private network namespace for discovery.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/daemon/core/peer_cache.h"
#include "src/daemon/core/peer_content_source.h"
#include "src/daemon/core/store.h"
#include "src/daemon/peer/peer_tls.h"
#include "src/daemon/platform/clock.h"
#include "src/daemon/platform/config.h"
#include "tests/integration/fixture.h"
#include "tests/integration/tls_servers.h"

namespace openbits::daemon::peertest {

struct FleetCerts {
  explicit FleetCerts(const std::string& dir);
  itest::TestCa fleet;
  itest::TestCa other;
  itest::TestCa::Issued host1, host2, expired, server_only, stranger;

  PeerTlsFiles files(const itest::TestCa::Issued& host) const {
    return {fleet.cert(), host.cert, host.key};
  }
  PeerTlsFiles stranger_files() const { return {other.cert(), stranger.cert, stranger.key}; }
};

// The certificates of one temp directory, made once per test binary run (openssl is slow).
const FleetCerts& certs();

// What JobManager is to the peer server in bitsd: the cache under one mutex, serving on or
// off, and a count of the leases ended.
class CacheSource final : public PeerContentSource {
 public:
  explicit CacheSource(const std::string& dir);
  // A validated content of `bytes` for `url`; its record.
  PeerCacheRecord add(const std::string& url, const std::string& bytes);
  Status remove(const Guid& id);

  bool serving_enabled() override { return serving; }
  Result<PeerCache::Lease> begin_serve(const std::string& key) override;
  void end_serve(const Guid& id) override;

  std::atomic<bool> serving{true};
  std::atomic<int> leases{0};  // begun and not ended

 private:
  SystemClock clock_;
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<PeerCache> cache_;
  std::mutex mutex_;
  int files_ = 0;
};

// A Config for a PeerService of `host` on loopback: listening (port 0) unless `listen` is
// false, no discovery unless `group` is given.
Config peer_config(const PeerTlsFiles& files, bool listen = true, const std::string& group = "");

// curl (the command line) against a peer server with `files` as its client identity
// (empty cert_file: none), with extra `args`; the head and body it got, by way of files
// in `dir`.
struct Fetched {
  int exit_code = -1;
  std::string head;  // every header line curl received, status line first
  std::string body;
  std::string err;
  std::string out;                                    // what curl wrote to stdout (-w)
  unsigned status() const;                            // of the status line; 0 without one
  std::string header(const std::string& name) const;  // value, "" when absent
};
Fetched curl_peer(const PeerTlsFiles& files, const std::string& url, const std::string& dir,
                  std::vector<std::string> args = {});
// The argv of that curl command writing the body to `out` (for runs in the background).
std::vector<std::string> curl_argv(const PeerTlsFiles& files, const std::string& url,
                                   const std::string& out, std::vector<std::string> args = {});

// `size` bytes of a fixed pseudo-random pattern.
std::string pattern(std::size_t size, unsigned seed = 1);
// SHA-256 of `bytes`: hex, and RFC 9530's base64 form.
std::string sha256_hex(const std::string& bytes);
std::string sha256_base64(const std::string& bytes);

// Moves this thread (call it before any thread is started) into a new network namespace
// with only lo, up and multicast-capable; false (and why) when that cannot be done.
bool enter_private_network(std::string* why);

}  // namespace openbits::daemon::peertest
