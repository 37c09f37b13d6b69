// bitsadmin grammar; see parser.h.
#include "src/cli/parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace openbits::cli {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string normalise_switch(std::string_view token) {
  if (!token.empty() && (token.front() == '/' || token.front() == '-')) token.remove_prefix(1);
  if (!token.empty() && token.front() == '-') token.remove_prefix(1);  // "--json"
  return lower(token);
}

bool is_switch(std::string_view token, std::string_view name) {
  if (token.empty() || (token.front() != '/' && token.front() != '-')) return false;
  return normalise_switch(token) == name;
}

Invocation parse_invocation(const std::vector<std::string>& argv) {
  Invocation inv;
  bool prefix_json = false;
  std::size_t i = 0;
  for (; i < argv.size(); ++i) {
    std::string word = normalise_switch(argv[i]);
    if (word == "rawreturn") {
      inv.raw = true;
    } else if (is_switch(argv[i], "json")) {
      prefix_json = true;
    } else if (word == "nowrap") {
      inv.nowrap = true;
    } else if (word == "wrap") {
      inv.nowrap = false;
    } else {
      break;
    }
  }
  if (i < argv.size()) inv.command = normalise_switch(argv[i++]);
  inv.args.assign(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
  if (inv.command == "list" || inv.command == "info" || inv.command == "monitor" ||
      inv.command == "cache" || inv.command == "peers") {
    // Before the command word it is that command's --json switch (`--json /list`).
    if (prefix_json) inv.args.emplace_back("--json");
    inv.json = std::any_of(inv.args.begin(), inv.args.end(),
                           [](const std::string& arg) { return is_switch(arg, "json"); });
  } else {
    inv.json = prefix_json;  // run() refuses it: no JSON output for this command
  }
  return inv;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::vector<FileRange>> parse_range_list(std::string_view text) {
  std::vector<FileRange> ranges;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto offset = parse_number(item.substr(0, colon));
    std::string_view length_text = item.substr(colon + 1);
    std::optional<std::uint64_t> length = lower(length_text) == "eof"
                                              ? std::optional<std::uint64_t>(kLengthToEof)
                                              : parse_number(length_text);
    if (!offset || !length) return std::nullopt;
    ranges.push_back({*offset, *length});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;  // trailing comma
  }
  if (ranges.empty()) return std::nullopt;
  return ranges;
}

std::optional<std::string> null_or(std::string_view text) {
  if (lower(text) == "null") return std::nullopt;
  return std::string(text);
}

std::optional<std::uint32_t> parse_acl_flags(std::string_view text) {
  std::uint32_t flags = 0;
  for (char c : lower(text)) {
    switch (c) {
      case 'o':
        flags |= kCopyFileOwner;
        break;
      case 'g':
        flags |= kCopyFileGroup;
        break;
      case 'd':
        flags |= kCopyFileDacl;
        break;
      case 's':
        flags |= kCopyFileSacl;
        break;
      default:
        return std::nullopt;
    }
  }
  return flags;
}

std::string acl_letters(std::uint32_t flags) {
  std::string out;
  if (flags & kCopyFileOwner) out += 'o';
  if (flags & kCopyFileGroup) out += 'g';
  if (flags & kCopyFileDacl) out += 'd';
  if (flags & kCopyFileSacl) out += 's';
  return out;
}

}  // namespace openbits::cli
