// libFuzzer target: bitsadmin's grammar. Arbitrary argv (NUL-separated) through
// parse_invocation, the value parsers and every per-command argument parser
// (arguments.h); the whole input is also read as an /ADDFILESET file. Nothing may crash,
// and what a parser accepts must agree with its input.
#include <string>
#include <vector>

#include "src/cli/arguments.h"
#include "src/cli/parser.h"

namespace {

using namespace openbits::cli;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

void check_values(const std::string& arg) {
  auto number = parse_number(arg);
  auto u32 = parse_u32(arg);
  check(!u32.ok() || (number && *number == *u32));
  auto flag = parse_bool_token(arg);
  if (flag.ok()) check(normalise_switch(arg) == (*flag ? "true" : "false"));
  (void)parse_range_list(arg);
  (void)null_or(arg);
  (void)classify_job_reference(arg);
  if (auto flags = parse_acl_flags(arg)) check(parse_acl_flags(acl_letters(*flags)) == flags);
}

void check_transfer(const std::vector<std::string>& args) {
  auto t = parse_transfer_args(args);
  if (!t.ok()) return;
  check(!args.empty() && t->name == args[0] && !t->files.empty());
  check(1 + 2 * t->files.size() <= args.size());
  // The files are the last arguments, in pairs, in order.
  std::size_t first = args.size() - 2 * t->files.size();
  for (std::size_t i = 0; i < t->files.size(); ++i) {
    check(t->files[i].remote_name == args[first + 2 * i]);
    check(t->files[i].local_name == args[first + 2 * i + 1]);
  }
  check(t->type == openbits::JobType::kDownload || t->files.size() == 1);
}

void check_settings(const std::vector<std::string>& args) {
  if (auto proxy = parse_proxy_args(args); proxy.ok()) {
    check(proxy->usage == openbits::ProxyUsage::kOverride ||
          (!proxy->proxy_list && !proxy->bypass_list));
  }
  if (auto notify = parse_notify_cmd_args(args); notify.ok()) {
    check(notify->program || !notify->parameters);
  }
  if (auto headers = parse_custom_headers(args); headers.ok() && *headers) {
    std::string expected;
    for (const std::string& h : args) expected += h + "\r\n";
    check(**headers == expected);
  }
}

void check_commands(const std::vector<std::string>& args) {
  (void)parse_create_args(args);
  (void)parse_list_args(args);
  (void)parse_reset_args(args);
  if (auto info = parse_info_args(args); info.ok()) check(info->job == args.at(0));
  if (auto monitor = parse_monitor_args(args); monitor.ok()) {
    check(monitor->refresh_s >= 1 && monitor->refresh_s <= 86400);
  }
  check_transfer(args);
  check_settings(args);
}

void check_file_set(const std::string& text) {
  auto files = parse_file_set(text);
  if (!files.ok()) return;
  for (const auto& file : *files) {
    check(!file.remote_name.empty() && file.remote_name.front() != '#');
    check(!file.local_name.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\0', start);
    if (end == std::string::npos) end = input.size();
    argv.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  Invocation inv = parse_invocation(argv);
  for (const std::string& arg : inv.args) check_values(arg);
  check_commands(inv.args);
  check_file_set(input);
  return 0;
}
