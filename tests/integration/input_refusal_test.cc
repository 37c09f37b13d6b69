// Input that bitsd must refuse at once, with a clear error, against a real bitsd and
// bitsadmin (issue 12, items 3 and 9): a user name or password in a URL (never stored,
// shown or logged), a port above 65535, control characters in display names and
// descriptions, a file:// source that is a directory, and /ADDFILESET naming the line it
// refuses.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPassword = "Pa55-in-url-7431";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class InputRefusalTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    make_file(nginx.root() + "/f.bin", 4000, 3);
  }
  CommandResult bitsadmin(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OPENBITS_BITSADMIN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
  std::string url_with_password() const {
    return "http://alice:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(nginx.port()) +
           "/f.bin";
  }
  std::string db() const { return dir.path() + "/bitsd/state/jobs.db"; }
};

TEST_F(InputRefusalTest, PasswordInAUrlIsRefusedAndNeverStoredShownOrLogged) {
  Job job = create("pwjob");
  CommandResult r = bitsadmin({"/addfile", "pwjob", url_with_password(), out + "/f.bin"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Unable to add file to job - 0x80070057."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/setcredentials"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(kPassword), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kPassword), std::string::npos) << r.err;
  // Every other way in: another file's new prefix or name, an upload, a proxy list.
  ASSERT_TRUE(job.add_file(nginx.url("/f.bin"), out + "/g.bin").ok());
  std::string origin = "http://127.0.0.1:" + std::to_string(nginx.port());
  std::string with_password =
      "http://alice:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(nginx.port());
  Status prefix = job.replace_remote_prefix(origin, with_password);
  EXPECT_EQ(prefix.code(), hr::E_INVALIDARG);
  EXPECT_EQ(prefix.message().find(kPassword), std::string::npos);
  auto files = job.files();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].set_remote_name(url_with_password()).code(), hr::E_INVALIDARG);
  EXPECT_EQ(
      job.set_proxy_settings(ProxyUsage::kOverride,
                             "http://alice:" + std::string(kPassword) + "@proxy:3128", std::nullopt)
          .code(),
      hr::E_INVALIDARG);
  make_file(out + "/up.bin", 100, 4);
  auto upload = manager->create_job("pwupload", JobType::kUpload);
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->add_file(url_with_password(), out + "/up.bin").code(), hr::E_INVALIDARG);
  // Nothing anywhere holds it.
  for (const auto& args : std::vector<std::vector<std::string>>{{"/list", "/verbose"},
                                                                {"/list", "/verbose", "--json"},
                                                                {"/info", "pwjob", "/verbose"},
                                                                {"/listfiles", "pwjob"},
                                                                {"/getproxylist", "pwjob"}}) {
    CommandResult shown = bitsadmin(args);
    EXPECT_EQ(shown.exit_code, 0) << args[0] << shown.err;
    EXPECT_EQ(shown.out.find(kPassword), std::string::npos) << args[0] << shown.out;
  }
  EXPECT_EQ(job.info()->files.size(), 1u);
  EXPECT_EQ(job.info()->files[0].remote_name, nginx.url("/f.bin"));
  EXPECT_EQ(bitsd.log().find(kPassword), std::string::npos) << bitsd.log();
  for (const std::string& path : {db(), db() + "-wal"}) {
    EXPECT_EQ(read_bytes(path).find(kPassword), std::string::npos) << path;
  }
}

TEST_F(InputRefusalTest, PortAbove65535IsRefusedAtAddFile) {
  create("portjob");
  CommandResult r = bitsadmin({"/addfile", "portjob", "http://127.0.0.1:99999/f", out + "/f"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Unable to add file to job - 0x80070057."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("port is not a number from 1 to 65535"), std::string::npos) << r.err;
  EXPECT_EQ(bitsadmin({"/addfile", "portjob", "http://127.0.0.1:65535/f", out + "/f"}).exit_code,
            0);
}

TEST_F(InputRefusalTest, ControlCharactersInDisplayNamesAndDescriptionsAreRefused) {
  EXPECT_EQ(manager->create_job("two\nlines").code(), hr::E_INVALIDARG);
  Job job = create("plain");
  for (const char* bad : {"a\nuid 0 takes ownership of job", "tab\there", "\x1b[2J", "del\x7f"}) {
    EXPECT_EQ(job.set_display_name(bad).code(), hr::E_INVALIDARG) << bad;
    Status s = job.set_description(bad);
    EXPECT_EQ(s.code(), hr::E_INVALIDARG) << bad;
    EXPECT_NE(s.message().find("control characters"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(job.set_description("Caf\xC3\xA9 \xE2\x9C\x93, \"quoted\"").ok());
  EXPECT_EQ(job.info()->display_name, "plain");
  CommandResult r = bitsadmin({"/setdisplayname", to_string(job.id()), "tab\there"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0x80070057"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("display name contains control characters"), std::string::npos) << r.err;
  CommandResult list = bitsadmin({"/list"});
  EXPECT_EQ(count(list.out, "'plain'"), 1u) << list.out;
}

// Refused at AddFile when the directory is there; a directory that appears later ends the
// transfer in ERROR with a description that says what the source is.
TEST_F(InputRefusalTest, FileUrlNamingADirectorySaysItIsADirectory) {
  std::string source = dir.path() + "/srcdir";
  fs::create_directories(source);
  Job job = create("dirjob");
  CommandResult r = bitsadmin({"/addfile", "dirjob", "file://" + source, out + "/d"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0x80070057"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(source + " is a directory"), std::string::npos) << r.err;
  std::string later = dir.path() + "/later";
  ASSERT_EQ(bitsadmin({"/addfile", "dirjob", "file://" + later, out + "/d"}).exit_code, 0);
  fs::create_directories(later);
  ASSERT_EQ(bitsadmin({"/resume", "dirjob"}).exit_code, 0);
  ASSERT_EQ(wait_for_state(job, {JobState::kError}), JobState::kError);
  auto error = job.error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, hr::E_INVALIDARG);
  EXPECT_NE(error->description.find("The source " + later + " is not a regular file"),
            std::string::npos)
      << error->description;
  CommandResult shown = bitsadmin({"/geterror", "dirjob"});
  EXPECT_NE(shown.out.find("0x80070057 - The source " + later + " is not a regular file"),
            std::string::npos)
      << shown.out;
}

TEST_F(InputRefusalTest, AddFileSetNamesTheRefusedLine) {
  std::string set = dir.path() + "/set.txt";
  std::ofstream(set) << nginx.url("/f.bin") << " " << out << "/a.bin\n"
                     << "# a comment\n\n"
                     << "http://127.0.0.1:99999/f.bin " << out << "/b.bin\n";
  create("setjob");
  CommandResult r = bitsadmin({"/addfileset", "setjob", set});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Unable to add file set to job - 0x80070057. line 4 "
                       "('http://127.0.0.1:99999/f.bin " +
                       out + "/b.bin'): "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("port"), std::string::npos) << r.err;
  EXPECT_EQ(bitsadmin({"/rawreturn", "/getfilestotal", "setjob"}).out, "0");  // all or nothing
  // A line with a password is named without it.
  std::ofstream(set) << url_with_password() << " " << out << "/c.bin\n";
  r = bitsadmin({"/addfileset", "setjob", set});
  EXPECT_NE(r.err.find("line 1 ('http://alice:***@127.0.0.1:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kPassword), std::string::npos) << r.err;
}

}  // namespace
}  // namespace openbits::itest
