// A queue larger than one RPC message: manager.enum_jobs is paged (docs/rpc-spec.md), so
// libopenbits and `bitsadmin /list` list every job exactly once, where one reply of 2,000
// jobs (~2.6 MB) would exceed the 1 MiB line limit. Root is exempt from the job limits.
#include <set>
#include <string>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

constexpr int kJobs = 2000;

TEST_F(ServiceTest, MoreJobsThanFitInOneReplyAreAllListed) {
  std::set<std::string> created;
  std::string description(400, 'd');  // with it, the whole queue is far over 1 MiB
  for (int i = 0; i < kJobs; ++i) {
    auto job = manager->create_job("many-" + std::to_string(i));
    ASSERT_TRUE(job.ok()) << i;
    ASSERT_TRUE(job->set_description(description).ok());
    created.insert(to_string(job->id()));
  }
  auto jobs = manager->enum_jobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  std::set<std::string> listed;
  for (const JobInfo& info : *jobs) listed.insert(to_string(info.id));
  EXPECT_EQ(jobs->size(), static_cast<std::size_t>(kJobs));  // none twice
  EXPECT_EQ(listed, created);

  CommandResult r =
      run_command({OPENBITS_BITSADMIN_PATH, "/list"}, {"OPENBITS_SOCKET=" + bitsd.socket()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t shown = 0;
  for (const std::string& id : created) shown += r.out.find(id) != std::string::npos;
  EXPECT_EQ(shown, created.size());
  EXPECT_NE(r.out.find("Listed 2000 job(s)."), std::string::npos) << r.out.substr(0, 400);
}

}  // namespace
}  // namespace openbits::itest
