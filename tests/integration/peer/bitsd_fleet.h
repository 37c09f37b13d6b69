// Real bitsd processes as peer-caching hosts on loopback: each with its own state
// directory, socket, JSON config (--config) and certificate from the test fleet
// (peer_fixture.h: made with openssl at test time), driven through bitsadmin.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/tls_servers.h"

namespace openbits::daemon::peertest {

struct PeerHostConfig {
  bool serve = false;                          // peer_listen on 127.0.0.1 (a free port)
  std::vector<std::string> peers;              // the `peers` static list
  std::optional<std::uint32_t> machine_flags;  // peer_caching_flags (the policy)
  std::uint64_t max_serve_bytes_per_s = 0;
};

// Where a host runs when it is not on loopback (peer_lan_test.cc).
struct PeerHostPlace {
  std::string listen;   // with serve: peer_listen there ("10.77.0.11:7700"), not loopback
  std::string netns;    // bitsd runs in this network namespace (lan.h); "" the test's own
  std::string ca_file;  // peer_ca_file; "" the fleet CA
};

class PeerHost {
 public:
  // A host in `dir` (created) with the fleet certificate `cert`; not started.
  PeerHost(const std::string& dir, const itest::TestCa::Issued& cert, PeerHostConfig config,
           PeerHostPlace place = {});
  void start();  // bitsd with the config, logging at debug
  void kill9() { bitsd_.kill9(); }
  // "127.0.0.1:PORT" of its peer server ("" when it serves no one).
  const std::string& address() const { return address_; }
  itest::CommandResult admin(std::vector<std::string> args) const;
  std::string raw(std::vector<std::string> args) const;  // /rawreturn, expects success
  // Whether its /peers /list shows `address` authenticated and available.
  bool trusts(const std::string& address) const;
  // A job downloading `url` to `local` with job flags `flags`, resumed; its id.
  std::string download(const std::string& url, const std::string& local, int flags) const;
  bool reaches(const std::string& id, const std::string& state) const;  // eventually
  // /getpeerstats ID 0 with /rawreturn: bytes from the origin and from peers.
  std::pair<std::uint64_t, std::uint64_t> peer_stats(const std::string& id) const;
  std::string log() const { return bitsd_.log(); }
  // The peer cache's content file of record `id` ("{GUID}").
  std::string cache_file(const std::string& id) const;
  // Lines of its log where its peer server answered a content request with bytes (a HEAD
  // hit or a GET), not the registry's probes.
  std::vector<std::string> served_requests() const;

 private:
  std::string dir_;
  std::string config_path_;
  std::string address_;
  std::string netns_;
  itest::Bitsd bitsd_;
};

}  // namespace openbits::daemon::peertest
