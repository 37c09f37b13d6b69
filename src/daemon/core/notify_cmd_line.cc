// Command-line splitting for notification programs; see notify_cmd_line.h.
#include "src/daemon/core/notify_cmd_line.h"

namespace openbits::daemon {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::vector<std::string> split_command_line(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) break;
    std::string token;
    bool quoted = false;
    while (i < text.size() && (quoted || !is_space(text[i]))) {
      if (text[i] == '\\') {
        std::size_t run = 0;
        while (i < text.size() && text[i] == '\\') {
          ++run;
          ++i;
        }
        if (i < text.size() && text[i] == '"') {
          token.append(run / 2, '\\');
          if (run % 2 == 1) {
            token += '"';
            ++i;
          }
        } else {
          token.append(run, '\\');
        }
      } else if (text[i] == '"') {
        if (quoted && i + 1 < text.size() && text[i + 1] == '"') {
          token += '"';  // "" inside quotes
          i += 2;
        } else {
          quoted = !quoted;
          ++i;
        }
      } else {
        token += text[i++];
      }
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

std::vector<std::string> notify_argv(const std::string& program,
                                     const std::optional<std::string>& parameters) {
  if (!parameters) return {program};
  std::vector<std::string> argv = split_command_line(*parameters);
  if (argv.empty()) argv.push_back(program);
  return argv;
}

}  // namespace openbits::daemon
