// bitsadmin output layouts from constructed JobInfo values, /MONITOR's frames and events,
// and /TRANSFER's progress bar.
#include "src/cli/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <ctime>

#include "openbits/names.h"

namespace openbits::cli {
namespace {

JobInfo sample() {
  JobInfo job;
  job.id = *parse_guid("{482FCAF0-74BF-469B-8929-5CCD028C9499}");
  job.display_name = "myDownloadJob";
  job.state = JobState::kTransientError;
  job.owner_name = "ann";
  job.progress = {kSizeUnknown, 0, 1, 0};
  FileInfo file;
  file.remote_name = "https://downloadsrv/10mb.zip";
  file.local_name = "/srv/10mb.zip";
  job.files.push_back(file);
  ErrorInfo error;
  error.code = hr::WINHTTP_NAME_NOT_RESOLVED;
  error.context = ErrorContext::kRemoteFile;
  error.file_index = 0;
  job.error = error;
  return job;
}

TEST(FormatTest, ListLineHasGuidQuotedNameStateFilesAndBytes) {
  EXPECT_EQ(list_line(sample()),
            "{482FCAF0-74BF-469B-8929-5CCD028C9499} 'myDownloadJob' TRANSIENT_ERROR 0 / 1 0 / "
            "UNKNOWN");
}

TEST(FormatTest, ErrorBlockAlignsItsLabels) {
  std::string block = error_block(sample());
  EXPECT_EQ(block.rfind("ERROR FILE:    https://downloadsrv/10mb.zip -> /srv/10mb.zip\n", 0), 0u);
  EXPECT_NE(block.find("\nERROR CODE:    0x80072ee7 - "), std::string::npos);
  EXPECT_NE(block.find("\nERROR CONTEXT: 0x00000005 - The error occurred while the remote file "
                       "was being processed.\n"),
            std::string::npos);
  JobInfo fine = sample();
  fine.error.reset();
  EXPECT_EQ(error_block(fine), "");
}

TEST(FormatTest, VerboseBlockFollowsTheDocumentedLayout) {
  std::string block = verbose_block(sample());
  EXPECT_EQ(block.rfind("GUID: {482FCAF0-74BF-469B-8929-5CCD028C9499} DISPLAY: 'myDownloadJob'\n"
                        "TYPE: DOWNLOAD STATE: TRANSIENT_ERROR OWNER: ann\n"
                        "PRIORITY: NORMAL FILES: 0 / 1 BYTES: 0 / UNKNOWN\n",
                        0),
            0u)
      << block;
  for (const char* line :
       {"\nCOMPLETION TIME: UNKNOWN ACL FLAGS: \n",
        "\nNOTIFY INTERFACE: UNREGISTERED NOTIFICATION FLAGS: 3\n",
        "\nRETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0\n",
        "\nPROXY USAGE: PRECONFIG PROXY LIST: NULL PROXY BYPASS LIST: NULL\nERROR FILE:",
        "\nDESCRIPTION: \nJOB FILES:\n\t0 / UNKNOWN WORKING https://downloadsrv/10mb.zip -> "
        "/srv/10mb.zip\n\t\tFROM ORIGIN: 0 FROM PEERS: 0 DOWNLOADED FROM PEER: FALSE VALIDATED: "
        "PENDING\nNOTIFICATION COMMAND LINE: none\n",
        "\nowner MIC integrity level: MEDIUM\nowner elevated ?           false\n",
        "\nCUSTOM HEADERS: NULL\nSECURITY FLAGS: 0 HTTP METHOD: GET\nCLIENT CERTIFICATE: NONE\n"}) {
    EXPECT_NE(block.find(line), std::string::npos) << line;
  }
}

TEST(FormatTest, TransferFrameShowsPercent) {
  JobInfo job = sample();
  job.display_name = "myJob";
  job.state = JobState::kTransferred;
  job.progress = {30, 30, 1, 1};
  EXPECT_EQ(transfer_frame(job),
            "DISPLAY: 'myJob' TYPE: DOWNLOAD STATE: TRANSFERRED\n"
            "PRIORITY: NORMAL FILES: 1 / 1 BYTES: 30 / 30 (100%)");
  job.progress = {0, 0, 1, 0};
  EXPECT_NE(transfer_frame(job).find("BYTES: 0 / 0 (0%)"), std::string::npos);
}

TEST(FormatTest, TimesAndSizes) {
  EXPECT_EQ(time_text(0), "UNKNOWN");
  EXPECT_EQ(bytes_text(kSizeUnknown), "UNKNOWN");
  EXPECT_EQ(bytes_text(42), "42");
  EXPECT_EQ(integrity_text(0x4000), "SYSTEM");
  std::string t = time_text(1700000000000);
  EXPECT_TRUE(t.find(" AM") != std::string::npos || t.find(" PM") != std::string::npos) << t;
}

TEST(FormatTest, RatesAreScaledToAReadableUnit) {
  EXPECT_EQ(rate_text(0), "0 B/s");
  EXPECT_EQ(rate_text(512), "512 B/s");
  EXPECT_EQ(rate_text(999.4), "999 B/s");
  EXPECT_EQ(rate_text(999.6), "1.0 KB/s");
  EXPECT_EQ(rate_text(12'345), "12.3 KB/s");  // a slow link is not "0.0 MB/s"
  EXPECT_EQ(rate_text(999'960), "1.0 MB/s");
  EXPECT_EQ(rate_text(4'500'000), "4.5 MB/s");
  EXPECT_EQ(rate_text(1.26e9), "1.3 GB/s");
  EXPECT_EQ(rate_text(3e12), "3000.0 GB/s");  // no larger unit
  EXPECT_EQ(rate_text(-5), "0 B/s");
  EXPECT_EQ(rate_text(std::nan("")), "0 B/s");
}

// Times in these tests are rendered in UTC.
class FormatUtcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

TEST_F(FormatUtcTest, TimesAreMonthDayYearTwelveHour) {
  EXPECT_EQ(time_text(1700000000000), "11/14/2023 10:13:20 PM");
  EXPECT_EQ(time_text(1704067200000), "1/1/2024 12:00:00 AM");  // midnight
  EXPECT_EQ(time_text(1704110405000), "1/1/2024 12:00:05 PM");  // noon
  EXPECT_EQ(time_text(1704070861999), "1/1/2024 1:01:01 AM");   // milliseconds dropped
}

TEST_F(FormatUtcTest, VerboseBlockIsExactlyTheDocumentedLayout) {
  JobInfo job = sample();
  job.description = "Music Downloads";
  job.times = {1700000000000, 1700000030000, 0};
  job.error_count = 2;
  job.files.push_back(job.files[0]);
  job.files[1].remote_name = "http://h/done";
  job.files[1].local_name = "/srv/done";
  job.files[1].progress = {30, 30, true};
  job.progress = {kSizeUnknown, 30, 2, 1};
  job.file_acl_flags = kCopyFileOwner | kCopyFileDacl;
  job.notify_cmd_program = "/usr/bin/logger";
  job.notify_cmd_parameters = "/usr/bin/logger done";
  job.peer_caching_flags = 0x2;
  job.custom_headers = "X-A: 1";
  EXPECT_EQ(verbose_block(job),
            "GUID: {482FCAF0-74BF-469B-8929-5CCD028C9499} DISPLAY: 'myDownloadJob'\n"
            "TYPE: DOWNLOAD STATE: TRANSIENT_ERROR OWNER: ann\n"
            "PRIORITY: NORMAL FILES: 1 / 2 BYTES: 30 / UNKNOWN\n"
            "CREATION TIME: 11/14/2023 10:13:20 PM MODIFICATION TIME: 11/14/2023 10:13:50 PM\n"
            "COMPLETION TIME: UNKNOWN ACL FLAGS: od\n"
            "NOTIFY INTERFACE: UNREGISTERED NOTIFICATION FLAGS: 3\n"
            "RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 2\n"
            "PROXY USAGE: PRECONFIG PROXY LIST: NULL PROXY BYPASS LIST: NULL\n"
            "ERROR FILE:    https://downloadsrv/10mb.zip -> /srv/10mb.zip\n"
            "ERROR CODE:    0x80072ee7 - " +
                describe_hresult(hr::WINHTTP_NAME_NOT_RESOLVED) +
                "\n"
                "ERROR CONTEXT: 0x00000005 - The error occurred while the remote file was being "
                "processed.\n"
                "DESCRIPTION: Music Downloads\n"
                "JOB FILES:\n"
                "\t0 / UNKNOWN WORKING https://downloadsrv/10mb.zip -> /srv/10mb.zip\n"
                "\t\tFROM ORIGIN: 0 FROM PEERS: 0 DOWNLOADED FROM PEER: FALSE VALIDATED: PENDING\n"
                "\t30 / 30 COMPLETED http://h/done -> /srv/done\n"
                "\t\tFROM ORIGIN: 0 FROM PEERS: 0 DOWNLOADED FROM PEER: FALSE VALIDATED: FALSE\n"
                "NOTIFICATION COMMAND LINE: /usr/bin/logger /usr/bin/logger done\n"
                "owner MIC integrity level: MEDIUM\n"
                "owner elevated ?           false\n"
                "Peercaching flags\n"
                "\tEnable download from peers      :false\n"
                "\tEnable serving to peers         :true\n"
                "CUSTOM HEADERS: X-A: 1\n"
                "SECURITY FLAGS: 0 HTTP METHOD: GET\n"
                "CLIENT CERTIFICATE: NONE\n");
}

TEST(FormatTest, VerboseBlockWithoutErrorOmitsTheErrorLines) {
  JobInfo job = sample();
  job.error.reset();
  job.owner_elevated = true;
  job.owner_integrity_level = 0x3000;
  job.custom_headers_write_only = true;
  std::string block = verbose_block(job);
  EXPECT_EQ(block.find("ERROR FILE"), std::string::npos);
  EXPECT_NE(block.find("PROXY BYPASS LIST: NULL\nDESCRIPTION: \n"), std::string::npos) << block;
  EXPECT_NE(block.find("owner MIC integrity level: HIGH\nowner elevated ?           true\n"),
            std::string::npos);
  EXPECT_NE(block.find("CUSTOM HEADERS: (write-only)\n"), std::string::npos);
}

TEST(FormatTest, ErrorBlockForAJobLevelError) {
  JobInfo job = sample();
  job.error->file_index.reset();
  job.error->code = hr::E_ACCESSDENIED;
  job.error->context = ErrorContext::kLocalFile;
  EXPECT_EQ(error_block(job), "ERROR FILE:    (none)\nERROR CODE:    0x80070005 - " +
                                  describe_hresult(hr::E_ACCESSDENIED) +
                                  "\nERROR CONTEXT: 0x00000004 - " +
                                  describe_context(ErrorContext::kLocalFile) + "\n");
}

TEST(FormatTest, ListLinesForFreshAndFinishedJobs) {
  JobInfo fresh;
  fresh.id = *parse_guid("{6AF46E48-41D3-453F-B7AF-A694BBC823F7}");
  fresh.display_name = "job1";
  fresh.progress = {0, 0, 0, 0};
  EXPECT_EQ(list_line(fresh),
            "{6AF46E48-41D3-453F-B7AF-A694BBC823F7} 'job1' SUSPENDED 0 / 0 0 / 0");
  fresh.state = JobState::kTransferred;
  fresh.progress = {100379370, 100379370, 1, 1};
  EXPECT_EQ(
      list_line(fresh),
      "{6AF46E48-41D3-453F-B7AF-A694BBC823F7} 'job1' TRANSFERRED 1 / 1 100379370 / 100379370");
}

TEST(FormatTest, TransferFrameWhileRunning) {
  JobInfo job = sample();
  job.display_name = "big";
  job.priority = JobPriority::kForeground;
  job.state = JobState::kTransferring;
  job.progress = {1000, 333, 2, 0};
  EXPECT_EQ(transfer_frame(job),
            "DISPLAY: 'big' TYPE: DOWNLOAD STATE: TRANSFERRING\n"
            "PRIORITY: FOREGROUND FILES: 0 / 2 BYTES: 333 / 1000 (33%)");
  job.state = JobState::kConnecting;
  job.progress = {kSizeUnknown, 0, 1, 0};
  EXPECT_EQ(transfer_frame(job),
            "DISPLAY: 'big' TYPE: DOWNLOAD STATE: CONNECTING\n"
            "PRIORITY: FOREGROUND FILES: 0 / 1 BYTES: 0 / UNKNOWN (0%)");
}

TEST(FormatTest, NotifyCommandTextAndJsonArray) {
  JobInfo job = sample();
  EXPECT_EQ(notify_cmd_text(job), "none");
  job.notify_cmd_program = "/bin/true";
  EXPECT_EQ(notify_cmd_text(job), "/bin/true");
  EXPECT_EQ(json_array({}), "[]");
  std::string two = json_array({job, job});
  EXPECT_EQ(two.front(), '[');
  EXPECT_EQ(two.back(), ']');
  EXPECT_EQ(two.find('\n'), std::string::npos);
  EXPECT_NE(two.find("\"display_name\":\"myDownloadJob\""), std::string::npos) << two;
}

// /MONITOR's layouts and /TRANSFER's progress bar.
// A one-file job as /MONITOR shows it.
JobInfo monitor_sample() {
  JobInfo job;
  job.id = *parse_guid("{6AF46E48-41D3-453F-B7AF-A694BBC823F7}");
  job.display_name = "job1";
  job.state = JobState::kTransientError;
  job.progress = {kSizeUnknown, 0, 1, 0};
  return job;
}

TEST(MonitorFrame, HeaderThenOneListLinePerJob) {
  EXPECT_EQ(monitor_frame({monitor_sample()}, 5),
            "MONITORING BACKGROUND COPY MANAGER(5 second refresh)\n"
            "{6AF46E48-41D3-453F-B7AF-A694BBC823F7} 'job1' TRANSIENT_ERROR 0 / 1 0 / UNKNOWN\n");
  EXPECT_EQ(monitor_frame({}, 1), "MONITORING BACKGROUND COPY MANAGER(1 second refresh)\n");
}

TEST(MonitorEvent, JsonLineWithTheJobOrItsId) {
  std::string added = monitor_event("added", 1234, monitor_sample());
  EXPECT_EQ(added.rfind(R"({"event":"added","time":1234,"job":{)", 0), 0u) << added;
  EXPECT_NE(added.find(R"("state":"TRANSIENT_ERROR")"), std::string::npos);
  EXPECT_EQ(monitor_event("removed", 5, monitor_sample()),
            R"({"event":"removed","time":5,"job_id":"{6AF46E48-41D3-453F-B7AF-A694BBC823F7}"})");
}

TEST(MonitorEvent, RemovedSaysWhy) {
  EXPECT_EQ(monitor_event("removed", 5, monitor_sample(), "cancelled"),
            R"({"event":"removed","time":5,"job_id":"{6AF46E48-41D3-453F-B7AF-A694BBC823F7}",)"
            R"("reason":"cancelled"})");
}

TEST(TransientErrorLine, StateErrorAndNextRetry) {
  JobInfo job = monitor_sample();
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
