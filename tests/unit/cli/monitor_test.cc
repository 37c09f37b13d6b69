// /MONITOR arguments and layouts, and the /TRANSFER progress bar.
#include <gtest/gtest.h>

#include "openbits/names.h"
#include "src/cli/arguments.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

TEST(MonitorArgs, DefaultsToFiveSecondsOwnJobs) {
  auto args = parse_monitor_args({});
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->all_users);
  EXPECT_FALSE(args->json);
  EXPECT_EQ(args->refresh_s, 5u);
}

TEST(MonitorArgs, TakesAllUsersRefreshAndJsonInAnyOrderAndCase) {
  auto args = parse_monitor_args({"/REFRESH", "2", "--json", "/allusers"});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->all_users);
  EXPECT_TRUE(args->json);
  EXPECT_EQ(args->refresh_s, 2u);
}

TEST(MonitorArgs, RejectsBadRefreshAndUnknownArguments) {
  EXPECT_EQ(parse_monitor_args({"/refresh"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_monitor_args({"/refresh", "0"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_monitor_args({"/refresh", "x"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_monitor_args({"/refresh", "86401"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_monitor_args({"job"}).code(), hr::E_INVALIDARG);
}

JobInfo sample() {
  JobInfo job;
  job.id = *parse_guid("{6AF46E48-41D3-453F-B7AF-A694BBC823F7}");
  job.display_name = "job1";
  job.state = JobState::kTransientError;
  job.progress = {kSizeUnknown, 0, 1, 0};
  return job;
}

TEST(MonitorFrame, HeaderThenOneListLinePerJob) {
  EXPECT_EQ(monitor_frame({sample()}, 5),
            "MONITORING BACKGROUND COPY MANAGER(5 second refresh)\n"
            "{6AF46E48-41D3-453F-B7AF-A694BBC823F7} 'job1' TRANSIENT_ERROR 0 / 1 0 / UNKNOWN\n");
  EXPECT_EQ(monitor_frame({}, 1), "MONITORING BACKGROUND COPY MANAGER(1 second refresh)\n");
}

TEST(MonitorEvent, JsonLineWithTheJobOrItsId) {
  std::string added = monitor_event("added", 1234, sample());
  EXPECT_EQ(added.rfind(R"({"event":"added","time":1234,"job":{)", 0), 0u) << added;
  EXPECT_NE(added.find(R"("state":"TRANSIENT_ERROR")"), std::string::npos);
  EXPECT_EQ(monitor_event("removed", 5, sample()),
            R"({"event":"removed","time":5,"job_id":"{6AF46E48-41D3-453F-B7AF-A694BBC823F7}"})");
}

TEST(MonitorEvent, RemovedSaysWhy) {
  EXPECT_EQ(monitor_event("removed", 5, sample(), "cancelled"),
            R"({"event":"removed","time":5,"job_id":"{6AF46E48-41D3-453F-B7AF-A694BBC823F7}",)"
            R"("reason":"cancelled"})");
}

TEST(TransientErrorLine, StateErrorAndNextRetry) {
  JobInfo job = sample();
  job.error = ErrorInfo{};
  job.error->code = hr::E_ACCESSDENIED;
  job.error->description = "Access is denied. (server: HTTP 409)";
  job.next_retry_time = 1'700'000'000'000;
  EXPECT_EQ(transient_error_line(job),
            "STATE: TRANSIENT_ERROR ERROR: 0x80070005 - Access is denied. (server: HTTP 409) "
            "NEXT RETRY: " +
                time_text(1'700'000'000'000));
  job.next_retry_time = 0;  // waiting for the network
  EXPECT_EQ(transient_error_line(job),
            "STATE: TRANSIENT_ERROR ERROR: 0x80070005 - Access is denied. (server: HTTP 409) "
            "NEXT RETRY: when the network is back");
}

TEST(ProgressBar, FillsInProportionAndStaysEmptyWhenUnknown) {
  EXPECT_EQ(progress_bar(0, 100, 10), "[..........]");
  EXPECT_EQ(progress_bar(50, 100, 10), "[#####.....]");
  EXPECT_EQ(progress_bar(100, 100, 10), "[##########]");
  EXPECT_EQ(progress_bar(10, kSizeUnknown, 4), "[....]");
  EXPECT_EQ(progress_bar(0, 0, 4), "[....]");
  EXPECT_EQ(progress_bar(200, 100, 4), "[####]");
}

}  // namespace
}  // namespace openbits::cli
