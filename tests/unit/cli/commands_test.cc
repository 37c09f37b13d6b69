// bitsadmin /? lists every command the command table knows, and each sub-command family's
// help every sub-command of that family (issue 12, item 8). The lists come from the tables
// themselves, so a command added without its help line fails here.
#include "src/cli/commands.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace openbits::cli {
namespace {

// The switch words of a help screen, normalised as the parser normalises command words.
std::set<std::string> switch_words(const std::string& text) {
  std::set<std::string> words;
  std::istringstream in(text);
  for (std::string token; in >> token;) {
    if (token.front() == '/' || token.front() == '-') words.insert(normalise_switch(token));
  }
  return words;
}

std::string help_of(const std::vector<std::string>& argv) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run(parse_invocation(argv), out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  return out.str();
}

TEST(HelpTest, UsageScreenListsEveryCommandOfTheTable) {
  std::set<std::string> words = switch_words(help_of({"/?"}));
  EXPECT_EQ(help_of({"/help"}), help_of({"/?"}));
  for (const auto& [command, handler] : command_table()) {
    EXPECT_EQ(words.count(command), 1u) << "/" << command << " is missing from bitsadmin /?";
  }
}

TEST(HelpTest, EachFamilysHelpListsEveryCommandOfItsTable) {
  ASSERT_FALSE(family_table().empty());
  for (const auto& [name, family] : family_table()) {
    std::string help = help_of({"/" + name, "/?"});
    EXPECT_EQ(help, family.help);
    EXPECT_EQ(help_of({name, "HELP"}), family.help);
    std::set<std::string> words = switch_words(help);
    for (const auto& [command, handler] : family.commands) {
      EXPECT_EQ(words.count(command), 1u) << "/" << name << " /" << command << " is missing";
    }
  }
}

TEST(HelpTest, AFamilyWithoutACommandPrintsInvalidCommandAndItsHelp) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run(parse_invocation({"/util"}), out, err), 1);
  EXPECT_EQ(out.str(), "Invalid command\n" + family_table().at("util").help);
  std::ostringstream out2;
  EXPECT_EQ(run(parse_invocation({"/util", "/frobnicate"}), out2, err), 1);
  EXPECT_EQ(out2.str().rfind("Invalid command\nUSAGE: BITSADMIN /UTIL", 0), 0u);
}

}  // namespace
}  // namespace openbits::cli
