// MemoryReserve (memory_reserve.h): a failed operator new spends the reserve and throws
// std::bad_alloc; rearm() takes a new one.
#include "src/daemon/platform/memory_reserve.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

namespace openbits::daemon {
namespace {

// ASan (GCC says so with __SANITIZE_ADDRESS__, clang with __has_feature) aborts on an
// allocation it cannot make instead of failing it, and reserves terabytes of address space.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// More than any machine has: operator new fails at once, without touching memory.
constexpr std::size_t kImpossible = std::size_t{1} << 62;

class MemoryReserveTest : public ::testing::Test {
 protected:
  void SetUp() override { previous_ = std::get_new_handler(); }
  void TearDown() override { std::set_new_handler(previous_); }
  std::new_handler previous_ = nullptr;
};

TEST_F(MemoryReserveTest, FailedAllocationSpendsTheReserveAndThrowsBadAlloc) {
  if (kAsan) GTEST_SKIP() << "ASan's allocator aborts on an impossible allocation";
  memory_reserve::install();
  ASSERT_TRUE(memory_reserve::armed());
  EXPECT_THROW((void)std::make_unique<char[]>(kImpossible), std::bad_alloc);
  EXPECT_FALSE(memory_reserve::armed());  // given back for the unwinding
  // Without a reserve the handler still fails the allocation (never loops).
  EXPECT_THROW((void)std::make_unique<char[]>(kImpossible), std::bad_alloc);
  EXPECT_TRUE(memory_reserve::rearm());
  EXPECT_TRUE(memory_reserve::armed());
  EXPECT_TRUE(memory_reserve::rearm());  // already held: nothing more taken
}

long vm_size_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stol(line.substr(7));
  }
  return 0;
}

// The bug it fixes (bitsd ended in std::terminate under MemoryTest's RLIMIT_AS): a JSON
// tree of ranges built until the address space runs out. nlohmann::json's destructor
// (noexcept) allocates, so unwinding the std::bad_alloc through the partly built tree
// needs memory; without the reserve that allocation fails too and the child aborts.
TEST_F(MemoryReserveTest, BadAllocWhileBuildingJsonUnwindsUnderAnAddressSpaceLimit) {
  if (kAsan) GTEST_SKIP() << "ASan reserves terabytes of address space and aborts on failure";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    memory_reserve::install();
    rlimit limit{};
    ::getrlimit(RLIMIT_AS, &limit);
    limit.rlim_cur = static_cast<rlim_t>(vm_size_kib() + 1024) * 1024;
    ::setrlimit(RLIMIT_AS, &limit);
    try {
      nlohmann::json all = nlohmann::json::array();
      for (;;) {
        nlohmann::json file = nlohmann::json::array();
        for (int i = 0; i < 50; ++i) file.push_back({{"initial_offset", i}, {"length", i}});
        all.push_back(std::move(file));
      }
    } catch (const std::bad_alloc&) {
      ::_exit(memory_reserve::armed() ? 2 : 0);  // alive, the reserve spent on the unwinding
    }
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace openbits::daemon
