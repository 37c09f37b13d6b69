// bitsd logs each job's lifecycle, one line per step, naming the job (and the HRESULT of
// an error), so the journal tells what happened to a job.
#include <sstream>

#include "tests/integration/itest.h"

namespace openbits::itest {
namespace {

class LifecycleLogTest : public ServiceTest {
 protected:
  // The lifecycle lines of `job` ("job {ID} <what>"; detail lines "job {ID}: ..." are
  // skipped), with the timestamp and level cut off.
  std::vector<std::string> lines_of(const Job& job) {
    std::vector<std::string> lines;
    std::istringstream log(bitsd.log());
    std::string id = to_string(job.id());
    for (std::string line; std::getline(log, line);) {
      if (line.find(id) == std::string::npos) continue;
      std::size_t at = line.find("job " + id);
      if (at == std::string::npos || line.compare(at + 4 + id.size(), 1, ":") == 0) continue;
      lines.push_back(line.substr(at));
    }
    return lines;
  }
};

TEST_F(LifecycleLogTest, CreatedResumedTransferredCompleted) {
  make_file(nginx.root() + "/ok.bin", 1000, 71);
  Job job = create("logged");
  ASSERT_TRUE(job.add_file(nginx.url("/ok.bin"), out + "/ok.bin").ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kTransferred}), JobState::kTransferred);
  ASSERT_TRUE(job.complete().ok());
  std::string id = to_string(job.id());
  EXPECT_EQ(lines_of(job), (std::vector<std::string>{
                               "job " + id + " 'logged' created by uid 0 (DOWNLOAD)",
                               "job " + id + " resumed by uid 0 (QUEUED)",
                               "job " + id + " transferred",
                               "job " + id + " completed by uid 0",
                           }));
}

TEST_F(LifecycleLogTest, ErrorWithItsHresultThenCancelled) {
  Job job = create("broken");
  ASSERT_TRUE(job.add_file(nginx.url("/missing"), out + "/missing").ok());
  ASSERT_TRUE(job.resume().ok());
  ASSERT_EQ(wait_for_state(job, {JobState::kError}), JobState::kError);
  ASSERT_TRUE(job.cancel().ok());
  std::string id = to_string(job.id());
  auto lines = lines_of(job);
  ASSERT_EQ(lines.size(), 4u) << bitsd.log();
  EXPECT_EQ(lines[0], "job " + id + " 'broken' created by uid 0 (DOWNLOAD)");
  EXPECT_EQ(lines[1], "job " + id + " resumed by uid 0 (QUEUED)");
  EXPECT_EQ(lines[2].rfind("job " + id + " error: 0x80190194 (", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3], "job " + id + " cancelled by uid 0");
}

}  // namespace
}  // namespace openbits::itest
