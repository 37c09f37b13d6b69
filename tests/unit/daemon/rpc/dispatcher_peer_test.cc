// Dispatcher: the peer-caching methods over the wire (peercache.*, peers.*, file.get):
// administrators only where the machine is concerned, BITS's ranges and HRESULTs, the
// config's policy, and the PeerDirectory the dispatcher is given (or none).
#include <gtest/gtest.h>

#include "src/daemon/rpc/dispatcher.h"
#include "src/protocol/codec.h"
#include "src/protocol/rpc.h"
#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

using nlohmann::json;

class FakePeers final : public PeerDirectory {
 public:
  std::vector<PeerInfo> peers() override { return list; }
  Status discover() override {
    ++discovered;
    return Status();
  }
  Status clear() override {
    ++cleared;
    return Status();
  }
  std::vector<PeerInfo> list;
  int discovered = 0;
  int cleared = 0;
};

class DispatcherPeerTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    dispatcher = std::make_unique<Dispatcher>(*manager);
  }
  json call(const Caller& caller, const std::string& method, json params = json::object()) {
    json request = {{"jsonrpc", "2.0"}, {"id", ++id}, {"method", method}, {"params", params}};
    auto line = dispatcher->handle_line(caller, request.dump());
    EXPECT_TRUE(line.has_value());
    return json::parse(*line);
  }
  static HRESULT hresult(const json& reply) {
    if (reply.contains("error")) return reply["error"]["data"]["hresult"].get<HRESULT>();
    return reply["result"].value("hresult", hr::S_OK);
  }
  std::unique_ptr<Dispatcher> dispatcher;
  int id = 0;
};

TEST_F(DispatcherPeerTest, MachineWideMethodsAreForAdministratorsOnly) {
  Caller user = user_caller();
  for (const char* method : {"peercache.list_records", "peercache.clear", "peercache.get_limit",
                             "peercache.get_expiration", "peers.discover", "peers.clear"}) {
    EXPECT_EQ(hresult(call(user, method)), hr::E_ACCESSDENIED) << method;
    EXPECT_EQ(hresult(call(root_caller(), method)), hr::S_OK) << method;
  }
  EXPECT_EQ(hresult(call(user, "peercache.set_configuration_flags", {{"flags", 3}})),
            hr::E_ACCESSDENIED);
  EXPECT_EQ(hresult(call(user, "peercache.set_limit", {{"percent", 5}})), hr::E_ACCESSDENIED);
  EXPECT_EQ(hresult(call(user, "peercache.set_expiration", {{"seconds", 86400}})),
            hr::E_ACCESSDENIED);
  EXPECT_EQ(hresult(call(user, "peercache.delete_url", {{"url", "http://x/"}})),
            hr::E_ACCESSDENIED);
  // Reading the flags and listing peers is for everyone.
  EXPECT_EQ(call(user, "peercache.get_configuration_flags")["result"]["flags"], 0);
  EXPECT_TRUE(call(user, "peers.list")["result"]["peers"].empty());
}

TEST_F(DispatcherPeerTest, LimitAndContentAgeKeepBitsRanges) {
  Caller root = root_caller();
  EXPECT_EQ(call(root, "peercache.get_limit")["result"]["percent"], 1);
  EXPECT_EQ(hresult(call(root, "peercache.set_limit", {{"percent", 0}})), hr::E_INVALIDARG);
  EXPECT_EQ(hresult(call(root, "peercache.set_limit", {{"percent", 81}})), hr::E_INVALIDARG);
  EXPECT_EQ(hresult(call(root, "peercache.set_limit", {{"percent", 80}})), hr::S_OK);
  EXPECT_EQ(call(root, "peercache.get_limit")["result"]["percent"], 80);
  EXPECT_EQ(call(root, "peercache.get_expiration")["result"]["seconds"], 7776000);
  EXPECT_EQ(hresult(call(root, "peercache.set_expiration", {{"seconds", 86399}})),
            hr::E_INVALIDARG);
  EXPECT_EQ(hresult(call(root, "peercache.set_expiration", {{"seconds", 10368001}})),
            hr::E_INVALIDARG);
  EXPECT_EQ(hresult(call(root, "peercache.set_expiration", {{"seconds", 10368000}})), hr::S_OK);
  EXPECT_EQ(call(root, "peercache.get_expiration")["result"]["seconds"], 10368000);
}

TEST_F(DispatcherPeerTest, FlagsOutsideTheMaskAreRefusedAndPolicyOverridesAreReported) {
  Caller root = root_caller();
  EXPECT_EQ(hresult(call(root, "peercache.set_configuration_flags", {{"flags", 4}})),
            hr::E_INVALIDARG);
  EXPECT_EQ(hresult(call(root, "peercache.set_configuration_flags", {{"flags", 3}})), hr::S_OK);
  EXPECT_EQ(call(root, "peercache.get_configuration_flags")["result"]["flags"], 3);
  config.peer_caching_flags = 2;
  open_manager();
  dispatcher = std::make_unique<Dispatcher>(*manager);
  EXPECT_EQ(hresult(call(root, "peercache.set_configuration_flags", {{"flags", 3}})),
            hr::BG_S_OVERRIDDEN_BY_POLICY);
  EXPECT_EQ(hresult(call(root, "peercache.set_configuration_flags", {{"flags", 2}})), hr::S_OK);
  EXPECT_EQ(call(root, "peercache.get_configuration_flags")["result"]["flags"], 2);
}

TEST_F(DispatcherPeerTest, UnknownOrMalformedRecordIds) {
  Caller root = root_caller();
  std::string unknown = "{00000000-0000-0000-0000-000000000001}";
  EXPECT_EQ(hresult(call(root, "peercache.get_record", {{"record_id", unknown}})),
            hr::BG_E_NOT_FOUND);
  EXPECT_EQ(hresult(call(root, "peercache.delete_record", {{"record_id", unknown}})),
            hr::BG_E_NOT_FOUND);
  json bad = call(root, "peercache.delete_record", {{"record_id", "nope"}});
  EXPECT_EQ(bad["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(hresult(call(root, "peercache.delete_url", {{"url", "http://none/"}})), hr::S_OK);
}

TEST_F(DispatcherPeerTest, PeersComeFromThePeerDirectory) {
  FakePeers peers;
  peers.list = {{"host-b", "10.77.0.2:7378", true, true, false, 1'800'000'000}};
  dispatcher->set_peer_directory(&peers);
  json list = call(user_caller(), "peers.list")["result"]["peers"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "host-b");
  EXPECT_EQ(list[0]["address"], "10.77.0.2:7378");
  EXPECT_EQ(list[0]["authenticated"], true);
  EXPECT_EQ(list[0]["last_seen"], 1'800'000'000'000);
  EXPECT_EQ(hresult(call(root_caller(), "peers.discover")), hr::S_OK);
  EXPECT_EQ(hresult(call(root_caller(), "peers.clear")), hr::S_OK);
  EXPECT_EQ(hresult(call(user_caller(), "peers.clear")), hr::E_ACCESSDENIED);
  EXPECT_EQ(peers.discovered, 1);
  EXPECT_EQ(peers.cleared, 1);
}

TEST_F(DispatcherPeerTest, FileGetShowsOneFileWithItsPeerStatistics) {
  Caller me = user_caller();
  Guid job = make_job(me, 2);
  json file = call(me, "file.get", {{"job_id", job}, {"file_index", 1}})["result"];
  EXPECT_EQ(file["index"], 1);
  EXPECT_EQ(file["bytes_from_origin"], 0);
  EXPECT_EQ(file["bytes_from_peers"], 0);
  EXPECT_EQ(file["downloaded_from_peer"], false);
  EXPECT_EQ(hresult(call(me, "file.get", {{"job_id", job}, {"file_index", 2}})),
            hr::BG_E_FILE_NOT_FOUND);
  EXPECT_EQ(hresult(call(user_caller(2000), "file.get", {{"job_id", job}, {"file_index", 0}})),
            hr::E_ACCESSDENIED);
}

}  // namespace
}  // namespace openbits::daemon::testing
