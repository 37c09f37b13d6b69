// bitsadmin output layouts from constructed JobInfo values.
#include "src/cli/format.h"

#include <gtest/gtest.h>

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
        "/srv/10mb.zip\nNOTIFICATION COMMAND LINE: none\n",
        "\nowner MIC integrity level: MEDIUM\nowner elevated ?           false\n",
        "\nCUSTOM HEADERS: NULL\n"}) {
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

}  // namespace
}  // namespace openbits::cli
