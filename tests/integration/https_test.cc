// HTTPS downloads from nginx with a self-signed certificate: certificates are verified by
// default (a fatal secure-channel error), and the job's security flags can relax that.
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nginx.start_with_tls(free_port(), free_port());
    bitsd.start();
    manager.emplace(bitsd.connect());
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
    make_file(nginx.root() + "/secure.bin", 3 << 20, 21);
  }
  TempDir dir;
  Nginx nginx{dir.path()};
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out;
};

TEST_F(HttpsTest, UntrustedCertificateIsAFatalError) {
  auto job = manager->create_job("tls");
  ASSERT_TRUE(job->add_file(nginx.tls_url("/secure.bin"), out + "/secure.bin").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kError, JobState::kTransferred}), JobState::kError);
  // nginx's certificate is self-signed: an unknown authority.
  EXPECT_EQ(job->error()->code, hr::WINHTTP_SECURE_INVALID_CA);
  EXPECT_EQ(job->error()->context, ErrorContext::kRemoteFile);
  EXPECT_TRUE(temp_files_in(out).empty());
}

TEST_F(HttpsTest, SecurityFlagsAllowAnUnknownCaAndName) {
  auto job = manager->create_job("tls relaxed");
  ASSERT_TRUE(job->set_security_flags(0x8 | 0x2).ok());  // IGNORE_UNKNOWN_CA | IGNORE_CN
  ASSERT_TRUE(job->add_file(nginx.tls_url("/secure.bin"), out + "/secure.bin").ok());
  ASSERT_TRUE(job->resume().ok());
  ASSERT_EQ(wait_for_state(*job, {JobState::kError, JobState::kTransferred}),
            JobState::kTransferred);
  ASSERT_EQ(job->complete().code(), hr::S_OK);
  EXPECT_TRUE(files_equal(nginx.root() + "/secure.bin", out + "/secure.bin"));
}

}  // namespace
}  // namespace openbits::itest
