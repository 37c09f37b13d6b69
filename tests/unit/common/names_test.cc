// Text forms of the model (src/common/names.cc): GUIDs, enum tokens, hresult_hex.
#include "openbits/names.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace openbits {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// "TRANSIENT_ERROR" -> "Transient_error".
std::string capitalised(std::string text) {
  text = lower(text);
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

TEST(NamesTest, GuidFormatsInUpperCaseBracesAndParsesBack) {
  auto guid = parse_guid("{c775d194-090f-431f-b5fb-8334d00d1cb6}");
  ASSERT_TRUE(guid.has_value());
  EXPECT_EQ(guid->bytes[0], 0xC7);
  EXPECT_EQ(guid->bytes[15], 0xB6);
  EXPECT_EQ(to_string(*guid), "{C775D194-090F-431F-B5FB-8334D00D1CB6}");

  Guid counting;
  for (std::size_t i = 0; i < counting.bytes.size(); ++i) {
    counting.bytes[i] = static_cast<std::uint8_t>(i * 17 + 3);
  }
  std::string text = to_string(counting);
  EXPECT_EQ(text, "{03142536-4758-697A-8B9C-ADBECFE0F102}");
  EXPECT_EQ(parse_guid(text), counting);
  EXPECT_EQ(parse_guid(lower(text)), counting);
  EXPECT_EQ(to_string(Guid{}), "{00000000-0000-0000-0000-000000000000}");
  EXPECT_TRUE(parse_guid("{00000000-0000-0000-0000-000000000000}")->is_null());
}

TEST(NamesTest, GuidRejectsMalformedText) {
  for (const char* bad : {
           "", "{}",
           "C775D194-090F-431F-B5FB-8334D00D1CB6",     // no braces
           "{C775D194-090F-431F-B5FB-8334D00D1CB}",    // one digit short
           "{C775D194-090F-431F-B5FB-8334D00D1CB66}",  // one digit long
           "{C775D194+090F-431F-B5FB-8334D00D1CB6}",   // wrong separator
           "{C775D194-090F-431F-B5FB8334-D00D1CB6}",   // dash in the wrong place
           "{G775D194-090F-431F-B5FB-8334D00D1CB6}",   // not hex
           "{C775D194-090F-431F-B5FB-8334D00D1CB6)",   // wrong closing brace
           " {C775D194-090F-431F-B5FB-8334D00D1CB6}",  // leading space
           "{C775D194-090F-431F-B5FB-8334D00D1C 6}",   // space inside
       }) {
    EXPECT_FALSE(parse_guid(bad).has_value()) << bad;
  }
}

TEST(NamesTest, EveryJobStateRoundTripsInAnyCase) {
  const char* names[] = {"QUEUED",          "CONNECTING",  "TRANSFERRING", "SUSPENDED", "ERROR",
                         "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};
  for (int i = 0; i < 9; ++i) {
    auto state = static_cast<JobState>(i);
    EXPECT_EQ(to_string(state), names[i]);
    EXPECT_EQ(parse_job_state(names[i]), state);
    EXPECT_EQ(parse_job_state(lower(names[i])), state);
    EXPECT_EQ(parse_job_state(capitalised(names[i])), state);
  }
  EXPECT_EQ(to_string(static_cast<JobState>(42)), "UNKNOWN");
  EXPECT_EQ(to_string(static_cast<JobState>(-1)), "UNKNOWN");
  EXPECT_FALSE(parse_job_state("").has_value());
  EXPECT_FALSE(parse_job_state("QUEUE").has_value());
  EXPECT_FALSE(parse_job_state("QUEUED ").has_value());
  EXPECT_FALSE(parse_job_state("UNKNOWN").has_value());
}

TEST(NamesTest, TypesPrioritiesAndProxyUsagesRoundTrip) {
  const char* types[] = {"DOWNLOAD", "UPLOAD", "UPLOAD-REPLY"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(to_string(static_cast<JobType>(i)), types[i]);
    EXPECT_EQ(parse_job_type(lower(types[i])), static_cast<JobType>(i));
  }
  const char* priorities[] = {"FOREGROUND", "HIGH", "NORMAL", "LOW"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(to_string(static_cast<JobPriority>(i)), priorities[i]);
    EXPECT_EQ(parse_job_priority(capitalised(priorities[i])), static_cast<JobPriority>(i));
  }
  const char* usages[] = {"PRECONFIG", "NO_PROXY", "OVERRIDE", "AUTODETECT"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(to_string(static_cast<ProxyUsage>(i)), usages[i]);
    EXPECT_EQ(parse_proxy_usage(lower(usages[i])), static_cast<ProxyUsage>(i));
  }
  EXPECT_FALSE(parse_job_type("UPLOAD_REPLY").has_value());
  EXPECT_FALSE(parse_job_priority("URGENT").has_value());
  EXPECT_FALSE(parse_proxy_usage("NO-PROXY").has_value());
  EXPECT_EQ(to_string(static_cast<JobPriority>(4)), "UNKNOWN");
}

TEST(NamesTest, HresultHexIsEightLowerCaseDigits) {
  EXPECT_EQ(hresult_hex(0), "0x00000000");
  EXPECT_EQ(hresult_hex(hr::S_FALSE), "0x00000001");
  EXPECT_EQ(hresult_hex(hr::BG_E_INVALID_STATE), "0x80200002");
  EXPECT_EQ(hresult_hex(0x8020002C), "0x8020002c");
  EXPECT_EQ(hresult_hex(http_error(404)), "0x80190194");
  EXPECT_EQ(hresult_hex(0xFFFFFFFF), "0xffffffff");
}

}  // namespace
}  // namespace openbits
