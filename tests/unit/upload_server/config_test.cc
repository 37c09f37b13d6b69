#include "src/upload_server/config.h"

#include <gtest/gtest.h>

#include "src/upload_server/backend.h"

namespace openbits::upload {
namespace {

TEST(ParseConfig, DefaultsAreTheIisExtensionDefaults) {
  auto config = parse_config("{}");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_upload_size, 0u);
  EXPECT_EQ(config->session_timeout, 1209600u);
  EXPECT_EQ(config->cleanup_interval, 43200u);
  EXPECT_TRUE(config->session_limit_enabled);
  EXPECT_EQ(config->sessions_per_client, 50u);
  EXPECT_FALSE(config->allow_overwrites);
  EXPECT_EQ(config->notification_type, 0);
  EXPECT_EQ(config->host_id_fallback_timeout, 86400u);
  EXPECT_EQ(config->notification_timeout, 300u);
}

TEST(ParseConfig, ReadsEverySetting) {
  auto config = parse_config(R"({"max_upload_size": 10, "allow_overwrites": true,
      "notification_type": 2, "notification_url": "http://127.0.0.1:9/n", "host_id": "h",
      "sessions_per_client": 3, "session_limit_enabled": false, "threads": 2})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_upload_size, 10u);
  EXPECT_TRUE(config->allow_overwrites);
  EXPECT_EQ(config->notification_type, 2);
  EXPECT_EQ(config->notification_url, "http://127.0.0.1:9/n");
  EXPECT_EQ(config->host_id, "h");
  EXPECT_EQ(config->sessions_per_client, 3u);
  EXPECT_FALSE(config->session_limit_enabled);
  EXPECT_EQ(config->threads, 2u);
}

TEST(ParseConfig, RefusesUnknownKeysBadValuesAndInconsistentSettings) {
  for (const char* text : {"[]", "not json", R"({"max_upload_sise": 1})",
                           R"({"max_upload_size": -1})", R"({"max_upload_size": "10"})",
                           R"({"notification_type": 3})", R"({"notification_type": 1})",
                           R"({"notification_type": 1, "notification_url": "https://h/n"})",
                           R"({"session_timeout": 0})", R"({"threads": 0})"}) {
    auto config = parse_config(text);
    EXPECT_FALSE(config.ok()) << text;
    EXPECT_FALSE(config.status().message().empty()) << text;
  }
  EXPECT_FALSE(parse_config(R"({"host_id": ")" + std::string(301, 'h') + "\"}").ok());
}

TEST(ResolveNotificationUrl, AppendsTheJobQueryAndResolvesRelativeUrls) {
  EXPECT_EQ(resolve_notification_url("http://app:81/notify", "http://s/up/f.bin?tx=7", "tx=7"),
            "http://app:81/notify?tx=7");
  EXPECT_EQ(resolve_notification_url("http://app/n?k=v", "http://s/up/f.bin", "a=b"),
            "http://app/n?k=v&a=b");
  EXPECT_EQ(resolve_notification_url("/hook", "http://s:8080/up/f.bin", ""), "http://s:8080/hook");
  EXPECT_EQ(resolve_notification_url("hook", "http://s/up/f.bin", ""), "http://s/up/hook");
  EXPECT_EQ(resolve_notification_url("https://app/n", "http://s/f", ""), "");
  EXPECT_EQ(resolve_notification_url("hook", "https://s/up/f.bin", ""), "");
}

}  // namespace
}  // namespace openbits::upload
