// bitsadmin per-command argument shapes: job references, /CREATE, /LIST /RESET /INFO
// options, /TRANSFER's grammar, /ADDFILESET text, /MONITOR's options, and the setter value
// vocabularies.
#include "src/cli/arguments.h"

#include <gtest/gtest.h>

#include "openbits/names.h"

namespace openbits::cli {
namespace {

using Argv = std::vector<std::string>;

TEST(ArgumentsTest, BracedGuidsAreIdsEverythingElseIsAName) {
  auto by_id = classify_job_reference("{c775d194-090f-431f-b5fb-8334d00d1cb6}");
  ASSERT_TRUE(by_id.guid.has_value());
  EXPECT_EQ(to_string(*by_id.guid), "{C775D194-090F-431F-B5FB-8334D00D1CB6}");
  EXPECT_FALSE(classify_job_reference("C775D194-090F-431F-B5FB-8334D00D1CB6").guid.has_value());
  EXPECT_FALSE(classify_job_reference("{C775D194-090F-431F-B5FB-8334D00D1CB}").guid.has_value());
  EXPECT_FALSE(classify_job_reference("{not-a-guid}").guid.has_value());
  auto by_name = classify_job_reference("my Job");
  EXPECT_FALSE(by_name.guid.has_value());
  EXPECT_EQ(by_name.name, "my Job");
}

TEST(ArgumentsTest, CreateTakesAnOptionalTypeAndOneName) {
  auto plain = parse_create_args({"job"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->type, JobType::kDownload);
  EXPECT_EQ(plain->name, "job");
  auto upload = parse_create_args({"/Upload", "up"});
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->type, JobType::kUpload);
  auto reply = parse_create_args({"-UPLOAD-REPLY", "r"});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->type, JobType::kUploadReply);
  EXPECT_EQ(parse_create_args({"/download"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_create_args({"a", "b"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_create_args({}).code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, ListResetAndInfoAcceptOnlyTheirSwitches) {
  auto list = parse_list_args({"/AllUsers", "-verbose", "--json"});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->all_users && list->verbose && list->json);
  auto none = parse_list_args({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->all_users || none->verbose || none->json);
  EXPECT_EQ(parse_list_args({"/bogus"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_list_args({"allusers"}).code(), hr::E_INVALIDARG);  // not a switch
  EXPECT_TRUE(parse_reset_args({"/ALLUSERS"})->all_users);
  EXPECT_EQ(parse_reset_args({"/verbose"}).code(), hr::E_INVALIDARG);
  auto info = parse_info_args({"job", "/VERBOSE"});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->job, "job");
  EXPECT_TRUE(info->verbose);
  EXPECT_FALSE(info->json);
  EXPECT_TRUE(parse_info_args({"job", "/json"})->json);
  EXPECT_EQ(parse_info_args({}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_info_args({"job", "/allusers"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_info_args({"job", "other"}).code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, TransferTakesTheFirstTokenAsTheNameAlways) {
  auto t = parse_transfer_args({"/Download", "/priority", "Foreground", "http://h/f", "/tmp/f"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->name, "/Download");
  EXPECT_EQ(t->priority, JobPriority::kForeground);
  ASSERT_EQ(t->files.size(), 1u);
  EXPECT_EQ(t->files[0].remote_name, "http://h/f");
  EXPECT_EQ(t->files[0].local_name, "/tmp/f");
}

TEST(ArgumentsTest, TransferSwitchesAndFilePairs) {
  auto t = parse_transfer_args({"j", "/DOWNLOAD", "/DYNAMIC", "/ACLFLAGS", "og", "http://h/a",
                                "/tmp/a", "http://h/b", "/tmp/b"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->priority, JobPriority::kNormal);
  EXPECT_TRUE(t->dynamic);
  EXPECT_EQ(t->acl_flags, kCopyFileOwner | kCopyFileGroup);
  ASSERT_EQ(t->files.size(), 2u);
  EXPECT_EQ(t->files[1].local_name, "/tmp/b");
  // A local path that starts with '/' ends the switches.
  auto paths = parse_transfer_args({"j", "/srv/remote", "/tmp/local"});
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(paths->files[0].remote_name, "/srv/remote");
}

TEST(ArgumentsTest, TransferRejectsMalformedInput) {
  EXPECT_EQ(parse_transfer_args({}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_transfer_args({"j"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_transfer_args({"j", "http://h/a"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_transfer_args({"j", "http://h/a", "/a", "http://h/b"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_transfer_args({"j", "/priority", "urgent", "u", "/l"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_transfer_args({"j", "/aclflags", "x", "u", "/l"}).code(), hr::E_INVALIDARG);
  auto upload = parse_transfer_args({"j", "/upload", "u", "/l"});
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->type, JobType::kUpload);
  EXPECT_EQ(parse_transfer_args({"j", "/UPLOAD-REPLY", "u", "/l"})->type, JobType::kUploadReply);
  EXPECT_EQ(parse_transfer_args({"j", "/upload", "u", "/l", "v", "/m"}).code(),
            hr::BG_E_TOO_MANY_FILES);
}

TEST(ArgumentsTest, FileSetSkipsCommentsAndBlankLines) {
  auto files = parse_file_set(
      "# remote local\r\n"
      "http://h/a /tmp/a\r\n"
      "\n"
      "   \t\n"
      "  http://h/b\t/tmp/b  \n"
      "#http://h/c /tmp/c\n"
      "http://h/d /tmp/d");
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].remote_name, "http://h/a");
  EXPECT_EQ((*files)[0].local_name, "/tmp/a");
  EXPECT_EQ((*files)[1].remote_name, "http://h/b");
  EXPECT_EQ((*files)[2].local_name, "/tmp/d");
}

TEST(ArgumentsTest, FileSetRefusesTheWholeFileForOneBadLine) {
  auto missing_local = parse_file_set("http://h/a /tmp/a\nhttp://h/b\n");
  EXPECT_EQ(missing_local.code(), hr::E_INVALIDARG);
  EXPECT_NE(missing_local.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(parse_file_set("http://h/a /tmp/a extra\n").code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_file_set("# only a comment\n").code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_file_set("").code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, ProxySettings) {
  auto pre = parse_proxy_args({"preconfig"});
  ASSERT_TRUE(pre.ok());
  EXPECT_EQ(pre->usage, ProxyUsage::kPreconfig);
  EXPECT_EQ(parse_proxy_args({"NO_PROXY"})->usage, ProxyUsage::kNoProxy);
  EXPECT_EQ(parse_proxy_args({"AutoDetect"})->usage, ProxyUsage::kAutodetect);
  auto over = parse_proxy_args({"OVERRIDE", "proxy1:80,proxy2", "<local>"});
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->proxy_list, "proxy1:80,proxy2");
  EXPECT_EQ(over->bypass_list, "<local>");
  EXPECT_FALSE(parse_proxy_args({"OVERRIDE", "p", "NULL"})->bypass_list.has_value());
  EXPECT_FALSE(parse_proxy_args({"OVERRIDE", "p", ""})->bypass_list.has_value());
  EXPECT_EQ(parse_proxy_args({"OVERRIDE", "p"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_proxy_args({"NO_PROXY", "p", "b"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_proxy_args({"MANUAL"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_proxy_args({}).code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, NotifyCommandLineAndNull) {
  auto both = parse_notify_cmd_args({"/usr/bin/logger", "/usr/bin/logger done"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->program, "/usr/bin/logger");
  EXPECT_EQ(both->parameters, "/usr/bin/logger done");
  auto program_only = parse_notify_cmd_args({"/bin/true", "NULL"});
  ASSERT_TRUE(program_only.ok());
  EXPECT_FALSE(program_only->parameters.has_value());
  auto cleared = parse_notify_cmd_args({"NULL", "null"});
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->program.has_value() || cleared->parameters.has_value());
  EXPECT_EQ(parse_notify_cmd_args({"NULL", "x"}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_notify_cmd_args({}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_notify_cmd_args({"a", "b", "c"}).code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, CustomHeadersOnePerArgument) {
  auto two = parse_custom_headers({"Accept-encoding:deflate/gzip", "X-A: 1"});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, std::optional<std::string>("Accept-encoding:deflate/gzip\r\nX-A: 1\r\n"));
  auto cleared = parse_custom_headers({"NULL"});
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->has_value());
  EXPECT_EQ(parse_custom_headers({}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_custom_headers({"X: 1\r\nY: 2"}).code(), hr::E_INVALIDARG);
}

TEST(ArgumentsTest, NumbersAndBooleans) {
  EXPECT_EQ(*parse_u32("0x0001"), 1u);
  EXPECT_EQ(*parse_u32("1209600"), 1209600u);
  EXPECT_EQ(*parse_u32("0xFFFFFFFF"), 0xFFFFFFFFu);
  EXPECT_EQ(parse_u32("0x100000000").code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_u32("ten").code(), hr::E_INVALIDARG);
  EXPECT_TRUE(*parse_bool_token("TRUE"));
  EXPECT_FALSE(*parse_bool_token("false"));
  EXPECT_EQ(parse_bool_token("/true").code(), hr::E_INVALIDARG);
  EXPECT_EQ(parse_bool_token("yes").code(), hr::E_INVALIDARG);
}

// /MONITOR's arguments.
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

}  // namespace
}  // namespace openbits::cli
