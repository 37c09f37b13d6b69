// SetCredentials argument rules and the owner's environment as bitsd reads it.
#include "src/daemon/core/job_credentials.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace openbits::daemon {
namespace {

AuthCredentials creds(int target, int scheme, std::optional<std::string> user,
                      std::optional<std::string> password) {
  return {static_cast<AuthTarget>(target), static_cast<AuthScheme>(scheme), std::move(user),
          std::move(password)};
}

TEST(ValidateCredentialsTest, TargetAndSchemeOutOfRangeAreBitsErrors) {
  EXPECT_EQ(validate_credentials(creds(0, 1, "u", "p")).code(), hr::BG_E_INVALID_AUTH_TARGET);
  EXPECT_EQ(validate_credentials(creds(3, 1, "u", "p")).code(), hr::BG_E_INVALID_AUTH_TARGET);
  EXPECT_EQ(validate_credentials(creds(1, 0, "u", "p")).code(), hr::BG_E_INVALID_AUTH_SCHEME);
  EXPECT_EQ(validate_credentials(creds(1, 6, "u", "p")).code(), hr::BG_E_INVALID_AUTH_SCHEME);
  for (int target : {1, 2}) {
    for (int scheme = 1; scheme <= 5; ++scheme) {
      EXPECT_TRUE(validate_credentials(creds(target, scheme, "u", "p")).ok());
    }
  }
}

TEST(ValidateCredentialsTest, LengthLimitsAreCountedInCharacters) {
  EXPECT_TRUE(validate_credentials(creds(1, 1, std::string(300, 'u'), "p")).ok());
  EXPECT_EQ(validate_credentials(creds(1, 1, std::string(301, 'u'), "p")).code(),
            hr::BG_E_USERNAME_TOO_LARGE);
  std::string e_acute_300;
  for (int i = 0; i < 300; ++i) e_acute_300 += "\xC3\xA9";  // 600 bytes, 300 characters
  EXPECT_TRUE(validate_credentials(creds(1, 1, e_acute_300, "p")).ok());
  EXPECT_TRUE(validate_credentials(creds(1, 1, "u", std::string(65535, 'p'))).ok());
  EXPECT_EQ(validate_credentials(creds(1, 1, "u", std::string(65536, 'p'))).code(),
            hr::BG_E_PASSWORD_TOO_LARGE);
}

TEST(ValidateCredentialsTest, ImplicitCredentialsOnlyForNtlmAndNegotiate) {
  EXPECT_TRUE(validate_credentials(creds(1, 3, std::nullopt, std::nullopt)).ok());
  EXPECT_TRUE(validate_credentials(creds(2, 4, std::nullopt, std::nullopt)).ok());
  for (int scheme : {1, 2, 5}) {
    EXPECT_EQ(validate_credentials(creds(1, scheme, std::nullopt, std::nullopt)).code(),
              hr::E_INVALIDARG);
  }
  EXPECT_EQ(validate_credentials(creds(1, 1, "u", std::nullopt)).code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_credentials(creds(1, 4, std::nullopt, "p")).code(), hr::E_INVALIDARG);
}

TEST(OwnerEnvironmentTest, ReadsProxyVariablesOfTheCallerProcess) {
  pid_t child = ::fork();
  if (child == 0) {
    const char* argv[] = {"/bin/sleep", "10", nullptr};
    const char* envp[] = {"HTTP_PROXY=http://upper:1",
                          "https_proxy=http://secure:2",
                          "NO_PROXY=localhost",
                          "no_proxy=.corp",
                          "KRB5CCNAME=FILE:/tmp/cc",
                          "PATH=/bin",
                          nullptr};
    ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  std::map<std::string, std::string> env;
  for (int i = 0; i < 100 && env.empty(); ++i) {  // until the exec happened
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    env = read_owner_environment(child, ::getuid());
  }
  EXPECT_EQ(env["http_proxy"], "http://upper:1");
  EXPECT_EQ(env["https_proxy"], "http://secure:2");
  EXPECT_EQ(env["no_proxy"], ".corp");  // the lower-case spelling wins
  EXPECT_EQ(env["krb5ccname"], "FILE:/tmp/cc");
  EXPECT_EQ(env.count("path"), 0u);
  // Another uid's process (a reused pid) is never read.
  EXPECT_TRUE(read_owner_environment(child, ::getuid() + 1).empty());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(read_owner_environment(child, ::getuid()).empty());
}

// /proc/PID/environ is read in steps: a variable past the first 16 KiB is still found.
TEST(OwnerEnvironmentTest, FindsAProxyVariableAfterALargeEnvironment) {
  std::string big = "BIG=" + std::string(40000, 'x');
  pid_t child = ::fork();
  if (child == 0) {
    const char* argv[] = {"/bin/sleep", "10", nullptr};
    const char* envp[] = {big.c_str(), "http_proxy=http://after:3", nullptr};
    ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  std::map<std::string, std::string> env;
  for (int i = 0; i < 100 && env.empty(); ++i) {  // until the exec happened
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    env = read_owner_environment(child, ::getuid());
  }
  EXPECT_EQ(env["http_proxy"], "http://after:3");
  EXPECT_EQ(env.size(), 1u);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace openbits::daemon
