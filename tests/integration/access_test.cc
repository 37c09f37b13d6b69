// Per-user access through libopenbits itself (bits-spec §"security"): a child process that
// dropped to uid 65534 connects on its own and must neither see nor open root's jobs, nor
// enumerate all users; root (an administrator) sees the other user's jobs.
#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr uid_t kNobody = 65534;

class AccessTest : public ServiceTest {};

TEST_F(AccessTest, AnotherUserCannotSeeOrOpenRootsJobs) {
  Job job = create("root's");
  std::string socket = bitsd.socket();
  Guid id = job.id();
  std::string seen = run_as(kNobody, [&socket, &id] {
    auto theirs = Manager::connect(socket);
    if (!theirs.ok()) return "connect " + hresult_hex(theirs.code());
    auto mine = theirs->enum_jobs();
    auto all = theirs->enum_jobs(true);
    auto get = theirs->get_job(id);
    return "enum " + (mine.ok() ? std::to_string(mine->size()) : hresult_hex(mine.code())) +
           " all " + hresult_hex(all.code()) + " get " + hresult_hex(get.code());
  });
  EXPECT_EQ(seen, "enum 0 all 0x80070005 get 0x80070005");
  EXPECT_EQ(*job.state(), JobState::kSuspended);  // untouched
}

TEST_F(AccessTest, AnotherUsersJobIsTheirsAndVisibleToRootWithAllUsers) {
  std::string socket = bitsd.socket();
  std::string made = run_as(kNobody, [&socket] {
    auto theirs = Manager::connect(socket);
    if (!theirs.ok()) return std::string("connect failed");
    auto job = theirs->create_job("nobody's");
    return job.ok() ? to_string(job->id()) : hresult_hex(job.code());
  });
  auto id = parse_guid(made);
  ASSERT_TRUE(id.has_value()) << made;
  auto mine = manager->enum_jobs();
  ASSERT_TRUE(mine.ok());
  for (const JobInfo& info : *mine) EXPECT_NE(info.id, *id);  // not root's own job
  auto all = manager->enum_jobs(true);
  ASSERT_TRUE(all.ok());
  bool found = false;
  for (const JobInfo& info : *all) {
    if (info.id != *id) continue;
    found = true;
    EXPECT_EQ(info.owner_uid, kNobody);
    EXPECT_EQ(info.owner, "S-1-22-1-65534");
  }
  EXPECT_TRUE(found);
  auto job = manager->get_job(*id);  // an administrator may open it
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->info()->display_name, "nobody's");
}

}  // namespace
}  // namespace openbits::itest
