// Text forms of the model: GUIDs, enum tokens, HRESULT descriptions.
#include "openbits/names.h"

#include <gtest/gtest.h>

#include <set>

namespace openbits {
namespace {

TEST(NamesTest, GuidRoundTripsInUpperCaseBraces) {
  auto guid = parse_guid("{c775d194-090f-431f-b5fb-8334d00d1cb6}");
  ASSERT_TRUE(guid.has_value());
  EXPECT_EQ(to_string(*guid), "{C775D194-090F-431F-B5FB-8334D00D1CB6}");
  for (const char* bad :
       {"", "C775D194-090F-431F-B5FB-8334D00D1CB6", "{C775D194-090F-431F-B5FB-8334D00D1CB}",
        "{C775D194+090F-431F-B5FB-8334D00D1CB6}", "{G775D194-090F-431F-B5FB-8334D00D1CB6}"}) {
    EXPECT_FALSE(parse_guid(bad).has_value()) << bad;
  }
}

TEST(NamesTest, EnumTokensParseInAnyCase) {
  EXPECT_EQ(to_string(JobState::kTransientError), "TRANSIENT_ERROR");
  EXPECT_EQ(parse_job_state("transient_error"), JobState::kTransientError);
  EXPECT_EQ(to_string(JobType::kUploadReply), "UPLOAD-REPLY");
  EXPECT_EQ(parse_job_priority("Foreground"), JobPriority::kForeground);
  EXPECT_EQ(parse_proxy_usage("no_proxy"), ProxyUsage::kNoProxy);
  EXPECT_FALSE(parse_job_priority("URGENT").has_value());
  EXPECT_EQ(to_string(static_cast<JobState>(42)), "UNKNOWN");
}

TEST(NamesTest, EveryBitsCodeHasItsOwnDescription) {
  std::set<std::string> seen;
  for (HRESULT code = 0x80200001; code <= 0x80200076; ++code) {
    std::string text = describe_hresult(code);
    ASSERT_FALSE(text.empty());
    if (text.rfind("Unknown error", 0) == 0) continue;  // reserved gaps in bitsmsg.h
    EXPECT_TRUE(seen.insert(text).second) << hresult_hex(code) << " repeats: " << text;
  }
  // 0x01..0x76 less the reserved gaps (0x2F-0x3D, 0x4A-0x4F, 0x5A-0x5F) and the five
  // success-code slots: 86 failure codes, each with its own text.
  EXPECT_EQ(seen.size(), 86u);
  EXPECT_EQ(describe_hresult(hr::BG_E_EMPTY), "There are currently no files attached to this job.");
}

TEST(NamesTest, HttpErrorsAndContexts) {
  EXPECT_EQ(http_error(404), 0x80190194u);
  EXPECT_EQ(describe_hresult(http_error(404)), "The requested URL does not exist on the server.");
  EXPECT_EQ(describe_hresult(http_error(499)), "HTTP status 499.");
  EXPECT_EQ(describe_context(ErrorContext::kRemoteFile),
            "The error occurred while the remote file was being processed.");
  EXPECT_EQ(hresult_hex(0x8020002C), "0x8020002c");
  EXPECT_EQ(describe_hresult(0x12345678).rfind("Unknown error 0x12345678", 0), 0u);
}

}  // namespace
}  // namespace openbits
