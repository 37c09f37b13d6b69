// bitsadmin job lifecycle and inspection commands: /CREATE /RESUME /SUSPEND /CANCEL
// /COMPLETE /TAKEOWNERSHIP /RESET /LIST /INFO /LISTFILES.
#include <cctype>
#include <ostream>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

int create(Context& ctx) {
  const char* synopsis = "/CREATE [/DOWNLOAD | /UPLOAD | /UPLOAD-REPLY] display_name";
  auto args = parse_create_args(ctx.inv.args);
  if (!args.ok()) return ctx.usage(synopsis, args.status());
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("create job", m.status());
  auto job = (*m)->create_job(args->name, args->type);
  if (!job.ok()) return ctx.fail("create job", job.status());
  if (ctx.inv.raw) {
    ctx.out << to_string(job->id());
  } else {
    ctx.out << "Created job " << to_string(job->id()) << ".\n";
  }
  return 0;
}

// /RESUME, /SUSPEND, /CANCEL, /COMPLETE, /TAKEOWNERSHIP: one job, one call.
Handler job_action(const std::string& verb, const std::string& done, Status (Job::*action)()) {
  return [verb, done, action](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage(upper("/" + verb) + " job");
    std::string what = verb == "takeownership" ? "take ownership of job" : verb + " job";
    auto job = ctx.resolve(ctx.inv.args[0]);
    if (!job.ok()) return ctx.fail(what, job.status());
    Status s = ((*job).*action)();
    if (!s.ok()) return ctx.fail(what, s);
    if (s.code() == hr::BG_S_PARTIAL_COMPLETE) {
      ctx.out << "Job partially completed: incomplete files were deleted.\n";
    } else if (s.code() == hr::BG_S_UNABLE_TO_DELETE_FILES) {
      ctx.out << done << " Some temporary files could not be deleted.\n";
    } else {
      ctx.out << done << '\n';
    }
    return 0;
  };
}

int reset(Context& ctx) {
  auto args = parse_reset_args(ctx.inv.args);
  if (!args.ok()) return ctx.usage("/RESET [/ALLUSERS]", args.status());
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("reset jobs", m.status());
  auto jobs = (*m)->enum_jobs(args->all_users);
  if (!jobs.ok()) return ctx.fail("reset jobs", jobs.status());
  std::size_t cancelled = 0;
  for (const JobInfo& info : *jobs) {
    auto job = (*m)->get_job(info.id);
    Status s = job.ok() ? job->cancel() : job.status();
    if (s.ok()) {
      ++cancelled;
      ctx.out << to_string(info.id) << " canceled.\n";
    } else {
      ctx.err << "Unable to cancel " << to_string(info.id) << " - " << hresult_hex(s.code()) << ". "
              << (s.message().empty() ? describe_hresult(s.code()) : s.message()) << '\n';
    }
  }
  ctx.out << cancelled << " out of " << jobs->size() << " jobs canceled.\n";
  return cancelled == jobs->size() ? 0 : 1;
}

int list(Context& ctx) {
  auto args = parse_list_args(ctx.inv.args);
  if (!args.ok()) return ctx.usage("/LIST [/ALLUSERS] [/VERBOSE] [--json]", args.status());
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("list jobs", m.status());
  auto jobs = (*m)->enum_jobs(args->all_users);
  if (!jobs.ok()) return ctx.fail("list jobs", jobs.status());
  if (args->json) {
    ctx.out << json_array(*jobs) << '\n';
    return 0;
  }
  for (const JobInfo& job : *jobs) {
    ctx.out << (args->verbose ? verbose_block(job) : list_line(job)) << '\n';
  }
  if (!args->verbose) ctx.out << '\n';  // verbose blocks already end with a blank line
  ctx.out << "Listed " << jobs->size() << " job(s).\n";
  return 0;
}

int info(Context& ctx) {
  auto args = parse_info_args(ctx.inv.args);
  if (!args.ok()) return ctx.usage("/INFO job [/VERBOSE] [--json]", args.status());
  auto job = ctx.resolve(args->job);
  if (!job.ok()) return ctx.fail("get job information", job.status());
  auto data = job->info();
  if (!data.ok()) return ctx.fail("get job information", data.status());
  if (args->json) {
    ctx.out << to_json(*data) << '\n';
  } else if (args->verbose) {
    ctx.out << verbose_block(*data);
  } else {
    ctx.out << list_line(*data) << '\n';
  }
  return 0;
}

int listfiles(Context& ctx) {
  if (ctx.inv.args.size() != 1) return ctx.usage("/LISTFILES job");
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("list files", job.status());
  auto data = job->info();
  if (!data.ok()) return ctx.fail("list files", data.status());
  for (const FileInfo& file : data->files) ctx.out << file_line(file).substr(1) << '\n';
  ctx.out << "Listed " << data->files.size() << " file(s).\n";
  return 0;
}

}  // namespace

void add_lifecycle_commands(std::map<std::string, Handler>& table) {
  table["create"] = create;
  table["resume"] = job_action("resume", "Job resumed.", &Job::resume);
  table["suspend"] = job_action("suspend", "Job suspended.", &Job::suspend);
  table["cancel"] = job_action("cancel", "Job canceled.", &Job::cancel);
  table["complete"] = job_action("complete", "Job completed.", &Job::complete);
  table["takeownership"] =
      job_action("takeownership", "Took ownership of the job.", &Job::take_ownership);
  table["reset"] = reset;
  table["list"] = list;
  table["info"] = info;
  table["listfiles"] = listfiles;
}

}  // namespace openbits::cli
