// JobManager file operations on users' directories (job_files.cc): Cancel deletes the
// temporary files as their owner, and when the daemon cannot take the owner's identity it
// deletes nothing (it would otherwise unlink as root) and reports
// BG_S_UNABLE_TO_DELETE_FILES.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/daemon_fixture.h"

namespace openbits::daemon::testing {
namespace {

constexpr uid_t kOwner = 65534;

// Clears `cap` from the calling thread's effective set (capabilities are per thread).
bool drop_effective_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  data[cap / 32].effective &= ~(1u << (cap % 32));
  return ::syscall(SYS_capset, &header, data) == 0;
}

class JobFilesTest : public DaemonTest {
 protected:
  // A job of kOwner whose temporary file exists (written by root, in a directory anyone
  // may write, so root could always delete it).
  std::string job_with_temp_file(Guid& id) {
    id = make_job(user_caller(kOwner));
    std::string temp = manager->job_info(root_caller(), id)->files[0].temporary_name;
    std::ofstream(temp) << "partial";
    return temp;
  }
};

TEST_F(JobFilesTest, CancelDeletesTheTemporaryFileAsTheOwner) {
  Guid id;
  std::string temp = job_with_temp_file(id);
  EXPECT_EQ(manager->cancel(user_caller(kOwner), id).code(), hr::S_OK);
  EXPECT_FALSE(std::filesystem::exists(temp));
}

TEST_F(JobFilesTest, CancelWithoutTheOwnersIdentityDeletesNothing) {
  Guid id;
  std::string temp = job_with_temp_file(id);
  HRESULT cancelled = hr::E_FAIL;
  bool dropped = false;
  // On a thread of its own without CAP_SETUID, setfsuid cannot move off root.
  std::thread([&] {
    dropped = drop_effective_capability(CAP_SETUID);
    if (dropped) cancelled = manager->cancel(user_caller(kOwner), id).code();
  }).join();
  ASSERT_TRUE(dropped);
  EXPECT_EQ(cancelled, hr::BG_S_UNABLE_TO_DELETE_FILES);
  EXPECT_TRUE(std::filesystem::exists(temp));
  EXPECT_EQ(state_of(id), JobState::kCancelled);
}

}  // namespace
}  // namespace openbits::daemon::testing
