// PeerHost; see bitsd_fleet.h.
#include "tests/integration/peer/bitsd_fleet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "tests/integration/peer/lan.h"
#include "tests/integration/peer/peer_fixture.h"

namespace openbits::daemon::peertest {
namespace {

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) out += (out.size() > 1 ? ",\"" : "\"") + item + "\"";
  return out + "]";
}

}  // namespace

PeerHost::PeerHost(const std::string& dir, const itest::TestCa::Issued& cert, PeerHostConfig config,
                   PeerHostPlace place)
    : dir_(dir), config_path_(dir + "/bitsd.json"), netns_(place.netns), bitsd_(dir) {
  std::filesystem::create_directories(dir);
  if (config.serve) {
    address_ =
        !place.listen.empty() ? place.listen : "127.0.0.1:" + std::to_string(itest::free_port());
  }
  std::string ca = place.ca_file.empty() ? certs().fleet.cert() : place.ca_file;
  std::ostringstream json;
  json << "{\"peer_ca_file\": \"" << ca << "\", \"peer_cert_file\": \"" << cert.cert
       << "\", \"peer_key_file\": \"" << cert.key
       << "\", \"peer_discovery\": \"none\", \"peers\": " << json_list(config.peers)
       << ", \"peer_max_serve_bytes_per_s\": " << config.max_serve_bytes_per_s;
  if (config.serve) json << ", \"peer_listen\": \"" << address_ << "\"";
  if (config.machine_flags) json << ", \"peer_caching_flags\": " << *config.machine_flags;
  json << "}";
  std::ofstream(config_path_) << json.str();
}

void PeerHost::start() {
  std::optional<InNetns> in;
  if (!netns_.empty()) in.emplace(netns_);
  bitsd_.start({"--config", config_path_, "--log-level", "debug"});
}

itest::CommandResult PeerHost::admin(std::vector<std::string> args) const {
  args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
  return itest::run_command(args, {"OPENBITS_SOCKET=" + bitsd_.socket()});
}

std::string PeerHost::raw(std::vector<std::string> args) const {
  args.insert(args.begin(), "/rawreturn");
  itest::CommandResult r = admin(std::move(args));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return r.out;
}

bool PeerHost::trusts(const std::string& address) const {
  std::string list = admin({"/peers", "/list"}).out;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" " + address + " ") != std::string::npos &&
        line.find("AUTHENTICATED: TRUE") != std::string::npos &&
        line.find("AVAILABLE: TRUE") != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string PeerHost::download(const std::string& url, const std::string& local, int flags) const {
  std::string id = raw({"/create", "fetch"});
  EXPECT_EQ(admin({"/addfile", id, url, local}).exit_code, 0);
  EXPECT_EQ(admin({"/setpeercachingflags", id, std::to_string(flags)}).exit_code, 0);
  EXPECT_EQ(admin({"/resume", id}).exit_code, 0);
  return id;
}

bool PeerHost::reaches(const std::string& id, const std::string& state) const {
  return itest::eventually([&] { return raw({"/getstate", id}) == state; });
}

std::pair<std::uint64_t, std::uint64_t> PeerHost::peer_stats(const std::string& id) const {
  std::istringstream in(raw({"/getpeerstats", id, "0"}));
  std::uint64_t origin = 0;
  std::uint64_t peers = 0;
  in >> origin >> peers;
  return {origin, peers};
}

std::string PeerHost::cache_file(const std::string& id) const {
  std::filesystem::path state = std::filesystem::path(bitsd_.socket()).parent_path() / "state";
  return (state / "peercache" / id.substr(1, 36)).string();
}

std::vector<std::string> PeerHost::served_requests() const {
  std::vector<std::string> served;
  std::istringstream lines(log());
  for (std::string line; std::getline(lines, line);) {
    bool head_hit =
        line.find(": HEAD ") != std::string::npos && line.find(" bytes") != std::string::npos;
    if (line.find(": served ") != std::string::npos || head_hit) served.push_back(line);
  }
  return served;
}

}  // namespace openbits::daemon::peertest
