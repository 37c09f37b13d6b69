// The peer cache administered and filled by the real bitsd, against nginx, through bitsadmin
// (issue 14, part 1): a completed job with the server flag on a machine with the server flag
// leaves a byte-identical copy of its file under the state directory that deleting the
// user's file does not touch; what may be one user's, and jobs or machines without the
// flag, are not cached; every /CACHE, /PEERS and /PEERCACHING command with BITS's ranges and
// HRESULTs; E_ACCESSDENIED for other users; the config's policy; records survive SIGKILL
// and a damaged one is dropped at start-up; /GETPEERSTATS and the validation commands.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr std::uint64_t kSize = 300'000;

class PeerCacheTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    make_file(nginx.root() + "/f.bin", kSize, 14);
    ASSERT_EQ(admin({"/peercaching", "/setconfigurationflags", "3"}).exit_code, 0);
  }
  CommandResult admin(std::vector<std::string> args, std::optional<uid_t> uid = std::nullopt) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
  std::string raw(std::vector<std::string> args) {
    args.insert(args.begin(), "/rawreturn");
    CommandResult r = admin(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r.out;
  }
  // A job named `name` with flags `flags` that downloads f.bin to `local` and reaches
  // TRANSFERRED; `setup` runs before /RESUME.
  std::string transferred(const std::string& name, const std::string& local, int flags,
                          const std::vector<std::vector<std::string>>& setup = {}) {
    std::string id = raw({"/create", name});
    EXPECT_EQ(admin({"/addfile", id, nginx.url("/f.bin"), local}).exit_code, 0);
    EXPECT_EQ(admin({"/setpeercachingflags", id, std::to_string(flags)}).exit_code, 0);
    for (std::vector<std::string> command : setup) {
      command.insert(command.begin() + 1, id);
      auto r = admin(command);
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    EXPECT_EQ(admin({"/resume", id}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return raw({"/getstate", id}) == "TRANSFERRED"; }));
    return id;
  }
  std::string completed(const std::string& name, const std::string& local, int flags,
                        const std::vector<std::vector<std::string>>& setup = {}) {
    std::string id = transferred(name, local, flags, setup);
    EXPECT_EQ(admin({"/complete", id}).exit_code, 0);
    return id;
  }
  // The records /CACHE /LIST prints (one line each: id size validated url).
  std::vector<std::string> listed() {
    std::vector<std::string> lines;
    std::istringstream in(raw({"/cache", "/list"}));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }
  // Waits for the background copy into the cache; the records then listed.
  std::vector<std::string> records_after_copy(std::size_t expected) {
    std::vector<std::string> lines;
    eventually([&] { return (lines = listed()).size() >= expected; });
    return lines;
  }
  std::string cache_dir() const {
    return (std::filesystem::path(bitsd.socket()).parent_path() / "state" / "peercache").string();
  }
  std::string content_file(const std::string& list_line) const {
    return cache_dir() + "/" + list_line.substr(1, 36);
  }
  static std::string hresult_of(const CommandResult& r) {
    std::size_t at = r.err.find(" - 0x");
    return at == std::string::npos ? r.err : r.err.substr(at + 3, 10);
  }
};

TEST_F(PeerCacheTest, ACompletedServerJobIsCachedAsAnIdenticalCopyOfItsOwn) {
  std::string local = out + "/f.bin";
  completed("served", local, 2);
  auto lines = records_after_copy(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(38), " 300000 TRUE " + nginx.url("/f.bin"));
  std::string copy = content_file(lines[0]);
  EXPECT_TRUE(files_equal(copy, nginx.root() + "/f.bin"));
  std::filesystem::remove(local);
  EXPECT_TRUE(files_equal(copy, nginx.root() + "/f.bin"));
  auto info = admin({"/cache", "/info", lines[0].substr(0, 38), "/verbose"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("URL: " + nginx.url("/f.bin")), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("RANGES: 0:300000"), std::string::npos) << info.out;
  auto json = admin({"/cache", "/list", "--json"});
  EXPECT_EQ(json.out.rfind("{", 0), 0u) << json.out;
  EXPECT_NE(json.out.find("\"size\": 300000"), std::string::npos) << json.out;
}

// The owner rewrites the finished temp file (same size, other bytes) between TRANSFERRED
// and Complete: the cache would serve other machines those bytes. It keeps only what bitsd
// itself received (the SHA-256 of the body as written), so the file is not cached; an
// untouched job after it is.
TEST_F(PeerCacheTest, AFileTheOwnerRewroteBeforeCompleteIsNotCached) {
  std::string local = out + "/tampered";
  std::string id = transferred("tampered", local, 2);
  std::string temp;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    if (entry.path().filename().string().rfind(".BIT", 0) == 0) temp = entry.path().string();
  }
  ASSERT_FALSE(temp.empty());
  {
    std::fstream file(temp, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    file.seekp(1000);
    file.write("poisoned bytes", 14);
  }
  EXPECT_EQ(std::filesystem::file_size(temp), kSize);
  ASSERT_EQ(admin({"/complete", id}).exit_code, 0);
  EXPECT_FALSE(files_equal(local, nginx.root() + "/f.bin"));
  make_file(nginx.root() + "/g.bin", 1000, 15);
  std::string probe = raw({"/create", "probe"});
  admin({"/addfile", probe, nginx.url("/g.bin"), out + "/g"});
  admin({"/setpeercachingflags", probe, "2"});
  admin({"/resume", probe});
  ASSERT_TRUE(eventually([&] { return raw({"/getstate", probe}) == "TRANSFERRED"; }));
  admin({"/complete", probe});
  auto lines = records_after_copy(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(nginx.url("/g.bin")), std::string::npos) << lines[0];
  EXPECT_TRUE(files_equal(content_file(lines[0]), nginx.root() + "/g.bin"));
}

TEST_F(PeerCacheTest, NothingPrivateOrWithoutBothServerFlagsIsCached) {
  completed("client-only", out + "/a", 1);
  completed("credentials", out + "/b", 2, {{"/setcredentials", "SERVER", "BASIC", "u", "p"}});
  completed("headers", out + "/c", 2, {{"/setcustomheaders", "X-Token: secret"}});
  ASSERT_EQ(admin({"/peercaching", "/setconfigurationflags", "1"}).exit_code, 0);
  completed("machine-off", out + "/d", 3);
  // A later cached job proves the copies above had time to happen.
  ASSERT_EQ(admin({"/peercaching", "/setconfigurationflags", "2"}).exit_code, 0);
  make_file(nginx.root() + "/g.bin", 1000, 15);
  std::string id = raw({"/create", "probe"});
  admin({"/addfile", id, nginx.url("/g.bin"), out + "/g"});
  admin({"/setpeercachingflags", id, "2"});
  admin({"/resume", id});
  ASSERT_TRUE(eventually([&] { return raw({"/getstate", id}) == "TRANSFERRED"; }));
  admin({"/complete", id});
  auto lines = records_after_copy(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(nginx.url("/g.bin")), std::string::npos) << lines[0];
}

TEST_F(PeerCacheTest, CacheCommandsWithTheirRangesAndHresults) {
  EXPECT_EQ(raw({"/cache", "/getlimit"}), "1");
  EXPECT_EQ(hresult_of(admin({"/cache", "/setlimit", "0"})), "0x80070057");
  EXPECT_EQ(hresult_of(admin({"/cache", "/setlimit", "81"})), "0x80070057");
  EXPECT_EQ(admin({"cache", "setlimit", "80"}).exit_code, 0);
  EXPECT_EQ(raw({"/CACHE", "/GETLIMIT"}), "80");
  EXPECT_EQ(raw({"/cache", "/getexpirationtime"}), "7776000");
  EXPECT_EQ(hresult_of(admin({"/cache", "/setexpirationtime", "86399"})), "0x80070057");
  EXPECT_EQ(hresult_of(admin({"/cache", "/setexpirationtime", "10368001"})), "0x80070057");
  EXPECT_EQ(admin({"/cache", "/setexpirationtime", "86400"}).exit_code, 0);
  EXPECT_EQ(raw({"/cache", "/getexpirationtime"}), "86400");
  EXPECT_EQ(hresult_of(admin({"/cache", "/delete", "{00000000-0000-0000-0000-000000000001}"})),
            "0x80200001");  // BG_E_NOT_FOUND
  EXPECT_EQ(hresult_of(admin({"/cache", "/delete", "not-a-guid"})), "0x80070057");
  completed("a", out + "/a", 2);
  auto lines = records_after_copy(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(admin({"/cache", "/delete", lines[0].substr(0, 38)}).exit_code, 0);
  EXPECT_TRUE(listed().empty());
  EXPECT_FALSE(exists(content_file(lines[0])));
  completed("b", out + "/b", 2);
  ASSERT_EQ(records_after_copy(1).size(), 1u);
  EXPECT_EQ(admin({"/cache", "/deleteurl", nginx.url("/f.bin")}).exit_code, 0);
  EXPECT_TRUE(listed().empty());
  completed("c", out + "/c", 2);
  ASSERT_EQ(records_after_copy(1).size(), 1u);
  EXPECT_EQ(admin({"/cache", "/clear"}).exit_code, 0);
  EXPECT_TRUE(listed().empty());
  // Peers: no peer service in this bitsd: an empty list, discover and clear succeed.
  EXPECT_EQ(raw({"/peers", "/list"}), "");
  EXPECT_EQ(admin({"/peers", "/discover"}).exit_code, 0);
  EXPECT_EQ(admin({"peers", "clear"}).exit_code, 0);
  EXPECT_EQ(raw({"/peercaching", "/getconfigurationflags"}), "3");
  EXPECT_EQ(hresult_of(admin({"/peercaching", "/setconfigurationflags", "4"})), "0x80070057");
}

TEST_F(PeerCacheTest, OtherUsersAreDeniedTheMachineWideCommands) {
  constexpr uid_t kOther = 65534;
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {"/peercaching", "/setconfigurationflags", "0"},
           {"/cache", "/list"},
           {"/cache", "/info", "{00000000-0000-0000-0000-000000000001}"},
           {"/cache", "/delete", "{00000000-0000-0000-0000-000000000001}"},
           {"/cache", "/deleteurl", "http://x/"},
           {"/cache", "/clear"},
           {"/cache", "/getlimit"},
           {"/cache", "/setlimit", "5"},
           {"/cache", "/getexpirationtime"},
           {"/cache", "/setexpirationtime", "86400"},
           {"/peers", "/discover"},
           {"/peers", "/clear"}}) {
    auto r = admin(command, kOther);
    EXPECT_EQ(r.exit_code, 1) << command[0] << ' ' << command[1];
    EXPECT_EQ(hresult_of(r), "0x80070005") << command[0] << ' ' << command[1] << r.err;
  }
  auto flags = admin({"/rawreturn", "/peercaching", "/getconfigurationflags"}, kOther);
  EXPECT_EQ(flags.out, "3");
  EXPECT_EQ(admin({"/peers", "/list"}, kOther).exit_code, 0);
  EXPECT_EQ(raw({"/peercaching", "/getconfigurationflags"}), "3");  // unchanged
}

TEST_F(PeerCacheTest, TheConfigPolicyWinsAndSetSaysSo) {
  std::string config = dir.path() + "/bitsd.json";
  std::ofstream(config) << R"({"peer_caching_flags": 1})";
  bitsd.terminate();
  bitsd.start({"--config", config});
  EXPECT_EQ(raw({"/peercaching", "/getconfigurationflags"}), "1");
  auto r = admin({"/peercaching", "/setconfigurationflags", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0x00200055"), std::string::npos) << r.out;
  EXPECT_EQ(raw({"/peercaching", "/getconfigurationflags"}), "1");
  auto same = admin({"/peercaching", "/setconfigurationflags", "1"});
  EXPECT_EQ(same.out.find("0x00200055"), std::string::npos) << same.out;
}

TEST_F(PeerCacheTest, RecordsSurviveSigkillAndADamagedOneIsDropped) {
  completed("a", out + "/a", 2);
  ASSERT_EQ(records_after_copy(1).size(), 1u);
  make_file(nginx.root() + "/h.bin", 5000, 17);  // a second record, to damage
  std::string id = raw({"/create", "h"});
  admin({"/addfile", id, nginx.url("/h.bin"), out + "/h"});
  admin({"/setpeercachingflags", id, "2"});
  admin({"/resume", id});
  ASSERT_TRUE(eventually([&] { return raw({"/getstate", id}) == "TRANSFERRED"; }));
  admin({"/complete", id});
  auto lines = records_after_copy(2);
  ASSERT_EQ(lines.size(), 2u);
  bitsd.kill9();
  bitsd.start();
  EXPECT_EQ(listed(), lines);
  // Damage the second record's copy (same size, other bytes): gone after the next start.
  std::string damaged = content_file(lines[1]);
  make_file(damaged, 5000, 99);
  bitsd.kill9();
  bitsd.start();
  std::vector<std::string> after;
  EXPECT_TRUE(eventually([&] { return (after = listed()).size() == 1; }));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], lines[0]);
  EXPECT_FALSE(exists(damaged));
}

TEST_F(PeerCacheTest, PeerStatsAndValidationStateOfADownloadedFile) {
  std::string id = transferred("stats", out + "/s", 2);
  EXPECT_EQ(raw({"/getpeerstats", id, "0"}), "300000 0");
  EXPECT_NE(admin({"/getpeerstats", id, "0"}).out.find("\nFROM ORIGIN: 300000 FROM PEERS: 0\n"),
            std::string::npos);
  EXPECT_EQ(hresult_of(admin({"/getpeerstats", id, "1"})), "0x80200029");  // BG_E_FILE_NOT_FOUND
  EXPECT_EQ(raw({"/isdownloadedfrompeer", id, "0"}), "FALSE");
  EXPECT_EQ(raw({"/getvalidationstate", id, "0"}), "FALSE");
  auto verbose = admin({"/info", id, "/verbose"});
  EXPECT_NE(verbose.out.find("FROM ORIGIN: 300000 FROM PEERS: 0 DOWNLOADED FROM PEER: FALSE"),
            std::string::npos)
      << verbose.out;
  auto json = admin({"/info", id, "--json"});
  EXPECT_NE(json.out.find("\"bytes_from_origin\": 300000"), std::string::npos) << json.out;
  EXPECT_EQ(admin({"/setvalidationstate", id, "0", "TRUE"}).exit_code, 0);
  EXPECT_EQ(raw({"/getvalidationstate", id, "0"}), "TRUE");
  ASSERT_EQ(records_after_copy(1).size(), 1u);  // validated: servable before Complete
  // FALSE on content from the origin: the record goes, the job fails validation.
  EXPECT_EQ(admin({"/setvalidationstate", id, "0", "FALSE"}).exit_code, 0);
  EXPECT_TRUE(listed().empty());
  EXPECT_EQ(raw({"/getstate", id}), "ERROR");
  EXPECT_EQ(raw({"/getpeerstats", id, "0"}), "0 0");
  EXPECT_EQ(admin({"/resume", id}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return raw({"/getstate", id}) == "TRANSFERRED"; }));
  EXPECT_EQ(raw({"/getpeerstats", id, "0"}), "300000 0");
}

}  // namespace
}  // namespace openbits::itest
