// bitsadmin file commands: /ADDFILE /ADDFILESET /ADDFILEWITHRANGES /REPLACEREMOTEPREFIX.
#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>

#include "openbits/names.h"
#include "src/cli/arguments.h"
#include "src/cli/commands.h"

namespace openbits::cli {
namespace {

int addfile(Context& ctx) {
  if (ctx.inv.args.size() != 3) return ctx.usage("/ADDFILE job remote_url local_name");
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("add file to job", job.status());
  if (Status s = job->add_file(ctx.inv.args[1], ctx.inv.args[2]); !s.ok()) {
    return ctx.fail("add file to job", s);
  }
  ctx.out << "Added " << ctx.inv.args[1] << " -> " << ctx.inv.args[2] << " to job.\n";
  return 0;
}

// `url` with the password of a user:password@ part replaced by ***.
std::string without_password(const std::string& url) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::size_t end = std::min(url.find_first_of("/?#", start), url.size());
  std::size_t at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return url;
  std::size_t colon = url.find(':', start);
  std::size_t cut = colon != std::string::npos && colon < at ? colon + 1 : start;
  return url.substr(0, cut) + "***" + url.substr(at);
}

// A refused file of the set, named by its line: "line 3 ('remote local'): why".
Status on_line(const Status& s, std::size_t line, const FileSpec& file) {
  std::string why = s.message().empty() ? describe_hresult(s.code()) : s.message();
  return Status(s.code(), "line " + std::to_string(line) + " ('" +
                              without_password(file.remote_name) + " " + file.local_name +
                              "'): " + why);
}

int addfileset(Context& ctx) {
  if (ctx.inv.args.size() != 2) return ctx.usage("/ADDFILESET job textfile");
  std::ifstream in(ctx.inv.args[1], std::ios::binary);
  if (!in) return ctx.fail("add file set to job", Status(hr::FILE_NOT_FOUND, ctx.inv.args[1]));
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<std::size_t> lines;
  auto files = parse_file_set(text.str(), &lines);  // the whole file before anything is added
  if (!files.ok()) return ctx.fail("add file set to job", files.status());
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("add file set to job", job.status());
  std::size_t failed = files->size();
  if (Status s = job->add_file_set(*files, &failed); !s.ok()) {
    if (failed < files->size()) s = on_line(s, lines[failed], (*files)[failed]);
    return ctx.fail("add file set to job", s);
  }
  ctx.out << "Added " << files->size() << " file(s) to job.\n";
  return 0;
}

int addfilewithranges(Context& ctx) {
  const char* synopsis = "/ADDFILEWITHRANGES job remote_url local_name range_list";
  if (ctx.inv.args.size() != 4) return ctx.usage(synopsis);
  auto ranges = parse_range_list(ctx.inv.args[3]);
  if (!ranges) {
    return ctx.fail("add file to job",
                    Status(hr::E_INVALIDARG, "the range list must look like 0:100,2000:eof"));
  }
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("add file to job", job.status());
  if (Status s = job->add_file_with_ranges(ctx.inv.args[1], ctx.inv.args[2], *ranges); !s.ok()) {
    return ctx.fail("add file to job", s);
  }
  ctx.out << "Added " << ctx.inv.args[1] << " -> " << ctx.inv.args[2] << " to job.\n";
  return 0;
}

int replaceremoteprefix(Context& ctx) {
  if (ctx.inv.args.size() != 3) return ctx.usage("/REPLACEREMOTEPREFIX job old_prefix new_prefix");
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("replace remote prefix", job.status());
  Status s = job->replace_remote_prefix(ctx.inv.args[1], ctx.inv.args[2]);
  if (!s.ok()) return ctx.fail("replace remote prefix", s);
  ctx.out << (s.code() == hr::S_FALSE ? "No remote names matched the prefix.\n"
                                      : "Remote prefix replaced.\n");
  return 0;
}

}  // namespace

void add_file_commands(std::map<std::string, Handler>& table) {
  table["addfile"] = addfile;
  table["addfileset"] = addfileset;
  table["addfilewithranges"] = addfilewithranges;
  table["replaceremoteprefix"] = replaceremoteprefix;
}

}  // namespace openbits::cli
