// Notification command lines: CommandLineToArgvW splitting and SetNotifyCmdLine checks.
#include "src/daemon/core/notify_cmd_line.h"

#include <gtest/gtest.h>

#include "src/daemon/core/validation.h"

namespace openbits::daemon {
namespace {

using Tokens = std::vector<std::string>;

TEST(NotifyCmdLine, WhitespaceSeparatesTokens) {
  EXPECT_EQ(split_command_line("  /bin/p  a\tb  "), (Tokens{"/bin/p", "a", "b"}));
  EXPECT_EQ(split_command_line(""), Tokens{});
}

TEST(NotifyCmdLine, QuotesGroupAndDisappear) {
  EXPECT_EQ(split_command_line(R"("/opt/my app/p" "two words" x"y z"w)"),
            (Tokens{"/opt/my app/p", "two words", "xy zw"}));
  EXPECT_EQ(split_command_line(R"(p "")"), (Tokens{"p", ""}));
}

TEST(NotifyCmdLine, BackslashesFollowTheWindowsRules) {
  EXPECT_EQ(split_command_line(R"(p \"a\")"), (Tokens{"p", "\"a\""}));
  EXPECT_EQ(split_command_line(R"(p a\\\"b)"), (Tokens{"p", "a\\\"b"}));
  EXPECT_EQ(split_command_line(R"(p "a\\" b)"), (Tokens{"p", "a\\", "b"}));
  EXPECT_EQ(split_command_line(R"(p a\b\\c)"), (Tokens{"p", "a\\b\\\\c"}));
  EXPECT_EQ(split_command_line(R"(p "say ""hi""")"), (Tokens{"p", "say \"hi\""}));
}

TEST(NotifyCmdLine, SingleQuotesAndDollarSignsAreLiteral) {
  EXPECT_EQ(split_command_line("p 'a b' $HOME `id`"), (Tokens{"p", "'a", "b'", "$HOME", "`id`"}));
}

TEST(NotifyCmdLine, ArgvIsTheParametersOrJustTheProgram) {
  EXPECT_EQ(notify_argv("/bin/p", std::nullopt), Tokens{"/bin/p"});
  EXPECT_EQ(notify_argv("/bin/p", std::string("/bin/p {J} x")), (Tokens{"/bin/p", "{J}", "x"}));
  EXPECT_EQ(notify_argv("/bin/p", std::string("")), Tokens{"/bin/p"});
}

TEST(NotifyCmdLineValidation, ProgramMustBeAbsoluteAndFirstToken) {
  EXPECT_TRUE(validate_notify_cmd_line(std::string("/bin/p"), std::nullopt).ok());
  EXPECT_TRUE(validate_notify_cmd_line(std::nullopt, std::nullopt).ok());  // clears
  EXPECT_TRUE(
      validate_notify_cmd_line(std::string("/opt/a b/p"), std::string("\"/opt/a b/p\" x")).ok());
  EXPECT_EQ(validate_notify_cmd_line(std::string("p"), std::nullopt).code(), hr::E_INVALIDARG);
  EXPECT_EQ(validate_notify_cmd_line(std::string("/bin/p"), std::string("/bin/q x")).code(),
            hr::E_INVALIDARG);
  EXPECT_EQ(validate_notify_cmd_line(std::nullopt, std::string("/bin/p")).code(), hr::E_INVALIDARG);
}

TEST(NotifyCmdLineValidation, LengthLimits) {
  std::string program = "/" + std::string(259, 'p');
  EXPECT_TRUE(validate_notify_cmd_line(program, std::nullopt).ok());
  EXPECT_EQ(validate_notify_cmd_line(program + "p", std::nullopt).code(), hr::BG_E_STRING_TOO_LONG);
  std::string parameters = "/bin/p " + std::string(4000 - 7, 'x');
  EXPECT_TRUE(validate_notify_cmd_line(std::string("/bin/p"), parameters).ok());
  EXPECT_EQ(validate_notify_cmd_line(std::string("/bin/p"), parameters + "x").code(),
            hr::BG_E_STRING_TOO_LONG);
}

TEST(NotifyFlags, UnknownBitsAreNotImplemented) {
  EXPECT_TRUE(validate_notify_flags(0x3F).ok());
  EXPECT_TRUE(validate_notify_flags(0).ok());
  EXPECT_EQ(validate_notify_flags(0x40).code(), hr::E_NOTIMPL);
  EXPECT_EQ(validate_notify_flags(0x80000001).code(), hr::E_NOTIMPL);
}

}  // namespace
}  // namespace openbits::daemon
