// bitsadmin grammar: prefix options, slash-less and any-case commands, value parsers.
#include "src/cli/parser.h"

#include <gtest/gtest.h>

namespace openbits::cli {
namespace {

TEST(ParserTest, PrefixOptionsThenCommandAndArguments) {
  Invocation inv = parse_invocation({"/RAWRETURN", "/NOWRAP", "/GetState", "my job"});
  EXPECT_TRUE(inv.raw);
  EXPECT_TRUE(inv.nowrap);
  EXPECT_EQ(inv.command, "getstate");
  EXPECT_EQ(inv.args, std::vector<std::string>{"my job"});
}

TEST(ParserTest, CommandWordsWithoutSlashOrWithDashAnyCase) {
  EXPECT_EQ(parse_invocation({"getstate", "j"}).command, "getstate");
  EXPECT_EQ(parse_invocation({"-GETSTATE", "j"}).command, "getstate");
  EXPECT_EQ(parse_invocation({"/TRANSFER", "/Download"}).args[0], "/Download");
  EXPECT_EQ(parse_invocation({}).command, "");
}

TEST(ParserTest, SwitchesMatchCaseInsensitively) {
  EXPECT_TRUE(is_switch("/AllUsers", "allusers"));
  EXPECT_TRUE(is_switch("-verbose", "verbose"));
  EXPECT_TRUE(is_switch("--json", "json"));
  EXPECT_FALSE(is_switch("allusers", "allusers"));
  EXPECT_FALSE(is_switch("/tmp/file", "allusers"));
}

TEST(ParserTest, NumbersAreDecimalOrHex) {
  EXPECT_EQ(parse_number("600"), 600u);
  EXPECT_EQ(parse_number("0x0001"), 1u);
  EXPECT_EQ(parse_number("0X1F"), 31u);
  EXPECT_FALSE(parse_number("12a").has_value());
  EXPECT_FALSE(parse_number("").has_value());
  EXPECT_FALSE(parse_number("0x").has_value());
  EXPECT_FALSE(parse_number("-1").has_value());
}

TEST(ParserTest, RangeListsWithEof) {
  auto ranges = parse_range_list("0:100,2000:100,5000:eof");
  ASSERT_TRUE(ranges.has_value());
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ((*ranges)[1], (FileRange{2000, 100}));
  EXPECT_EQ((*ranges)[2], (FileRange{5000, kLengthToEof}));
  auto zero_first = parse_range_list("100:0,100:5");
  ASSERT_TRUE(zero_first.has_value());
  EXPECT_EQ((*zero_first)[0], (FileRange{100, 0}));
  EXPECT_FALSE(parse_range_list("100").has_value());
  EXPECT_FALSE(parse_range_list("1:2,").has_value());
  EXPECT_FALSE(parse_range_list("a:b").has_value());
  EXPECT_FALSE(parse_range_list("").has_value());
}

TEST(ParserTest, NullAndAclFlags) {
  EXPECT_FALSE(null_or("NULL").has_value());
  EXPECT_FALSE(null_or("null").has_value());
  EXPECT_EQ(null_or("x"), "x");
  EXPECT_EQ(parse_acl_flags("OGDS"), kCopyFileAll);
  EXPECT_EQ(parse_acl_flags("gd"), kCopyFileGroup | kCopyFileDacl);
  EXPECT_FALSE(parse_acl_flags("OX").has_value());
  EXPECT_EQ(acl_letters(kCopyFileOwner | kCopyFileSacl), "os");
}

TEST(ParserTest, PrefixOptionsCombineAndTheLastWrapWins) {
  Invocation inv = parse_invocation({"-rawreturn", "/NOWRAP", "/wrap", "INFO", "j"});
  EXPECT_TRUE(inv.raw);
  EXPECT_FALSE(inv.nowrap);
  EXPECT_EQ(inv.command, "info");
  // Prefix options after the command word are its arguments.
  Invocation late = parse_invocation({"/getstate", "/rawreturn"});
  EXPECT_FALSE(late.raw);
  EXPECT_EQ(late.args, std::vector<std::string>{"/rawreturn"});
  EXPECT_EQ(parse_invocation({"/rawreturn"}).command, "");
}

TEST(ParserTest, HelpSpellings) {
  EXPECT_EQ(parse_invocation({"/?"}).command, "?");
  EXPECT_EQ(parse_invocation({"/HELP"}).command, "help");
  EXPECT_EQ(parse_invocation({"-?"}).command, "?");
}

TEST(ParserTest, JsonOnListAndInfoDropsTheBanner) {
  EXPECT_TRUE(parse_invocation({"/list", "--json"}).json);
  EXPECT_TRUE(parse_invocation({"info", "j", "/JSON"}).json);
  EXPECT_FALSE(parse_invocation({"/list"}).json);
  EXPECT_FALSE(parse_invocation({"/setdescription", "j", "--json"}).json);
}

TEST(ParserTest, JsonBeforeTheCommandWordIsThatCommandsSwitch) {
  Invocation list = parse_invocation({"--json", "/list", "/allusers"});
  EXPECT_EQ(list.command, "list");
  EXPECT_TRUE(list.json);
  EXPECT_EQ(list.args, (std::vector<std::string>{"/allusers", "--json"}));
  Invocation info = parse_invocation({"/rawreturn", "/JSON", "info", "j"});
  EXPECT_TRUE(info.raw);
  EXPECT_EQ(info.command, "info");
  EXPECT_EQ(info.args, (std::vector<std::string>{"j", "--json"}));
  // A command without JSON output keeps the flag, for run() to refuse; its arguments stay.
  Invocation other = parse_invocation({"--json", "/setdescription", "j", "text"});
  EXPECT_TRUE(other.json);
  EXPECT_EQ(other.args, (std::vector<std::string>{"j", "text"}));
}

TEST(ParserTest, RangeListsAcceptHexAndAnyCaseEof) {
  auto ranges = parse_range_list("0x10:0x20,100:EOF");
  ASSERT_TRUE(ranges.has_value());
  EXPECT_EQ((*ranges)[0], (FileRange{16, 32}));
  EXPECT_EQ((*ranges)[1], (FileRange{100, kLengthToEof}));
  auto zero_last = parse_range_list("100:5,100:0");
  ASSERT_TRUE(zero_last.has_value());
  EXPECT_EQ((*zero_last)[1], (FileRange{100, 0}));
  EXPECT_FALSE(parse_range_list("eof:10").has_value());
  EXPECT_FALSE(parse_range_list(",1:2").has_value());
  EXPECT_FALSE(parse_range_list("1:2:3").has_value());
  EXPECT_FALSE(parse_range_list("1:").has_value());
}

}  // namespace
}  // namespace openbits::cli
