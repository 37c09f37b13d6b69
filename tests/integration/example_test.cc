// The example program (examples/download.cc) run against a real bitsd and nginx: it
// delivers a file byte-identical and exits 0; a 404 makes it print the HTTP error, cancel
// its job and exit 1.
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class ExampleTest : public ServiceTest {
 protected:
  CommandResult example(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OPENBITS_EXAMPLE_DOWNLOAD_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {"OPENBITS_SOCKET=" + bitsd.socket()});
  }
};

TEST_F(ExampleTest, DownloadsAFileAndCompletesTheJob) {
  make_file(nginx.root() + "/example.bin", 3 << 20, 21);
  auto r = example({nginx.url("/example.bin"), out + "/example.bin"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("delivered " + out + "/example.bin"), std::string::npos) << r.out;
  EXPECT_TRUE(files_equal(nginx.root() + "/example.bin", out + "/example.bin"));
  EXPECT_TRUE(manager->enum_jobs()->empty());  // completed: gone from the queue
}

TEST_F(ExampleTest, NotFoundPrintsTheErrorAndCancels) {
  auto r = example({nginx.url("/nothing-here"), out + "/nothing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error 0x80190194"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out + "/nothing"));
  EXPECT_TRUE(manager->enum_jobs()->empty());  // cancelled
}

TEST_F(ExampleTest, UsageErrorExitsTwo) {
  auto r = example({"only-one-argument"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage:"), std::string::npos);
}

}  // namespace
}  // namespace openbits::itest
