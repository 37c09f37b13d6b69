// bitsadmin job lifecycle and inspection commands: /CREATE /RESUME /SUSPEND /CANCEL
// /COMPLETE /TAKEOWNERSHIP /RESET /LIST /INFO /LISTFILES.
#include <ostream>

#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

bool has_switch(const std::vector<std::string>& args, std::string_view name) {
  for (const auto& a : args) {
    if (is_switch(a, name)) return true;
  }
  return false;
}

int create(Context& ctx) {
  JobType type = JobType::kDownload;
  std::optional<std::string> name;
  for (const std::string& arg : ctx.inv.args) {
    if (is_switch(arg, "download")) {
      type = JobType::kDownload;
    } else if (is_switch(arg, "upload")) {
      type = JobType::kUpload;
    } else if (is_switch(arg, "upload-reply")) {
      type = JobType::kUploadReply;
    } else if (!name) {
      name = arg;
    } else {
      return ctx.usage("/CREATE [/DOWNLOAD | /UPLOAD | /UPLOAD-REPLY] display_name");
    }
  }
  if (!name) return ctx.usage("/CREATE [/DOWNLOAD | /UPLOAD | /UPLOAD-REPLY] display_name");
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("create job", m.status());
  auto job = (*m)->create_job(*name, type);
  if (!job.ok()) return ctx.fail("create job", job.status());
  if (ctx.inv.raw) {
    ctx.out << to_string(job->id());
  } else {
    ctx.out << "Created job " << to_string(job->id()) << ".\n";
  }
  return 0;
}

// /RESUME, /SUSPEND, /CANCEL, /COMPLETE, /TAKEOWNERSHIP: one job, one call.
Handler job_action(std::string verb, std::string done, Status (Job::*action)()) {
  return [verb, done, action](Context& ctx) {
    if (ctx.inv.args.size() != 1) return ctx.usage("/" + verb + " job");
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
  bool all = has_switch(ctx.inv.args, "allusers");
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("reset jobs", m.status());
  auto jobs = (*m)->enum_jobs(all);
  if (!jobs.ok()) return ctx.fail("reset jobs", jobs.status());
  std::size_t cancelled = 0;
  for (const JobInfo& info : *jobs) {
    auto job = (*m)->get_job(info.id);
    Status s = job.ok() ? job->cancel() : job.status();
    if (s.ok()) {
      ++cancelled;
      ctx.out << to_string(info.id) << " canceled.\n";
    } else {
      ctx.err << to_string(info.id) << ": " << hresult_hex(s.code()) << " "
              << describe_hresult(s.code()) << '\n';
    }
  }
  ctx.out << cancelled << " out of " << jobs->size() << " jobs canceled.\n";
  return cancelled == jobs->size() ? 0 : 1;
}

int list(Context& ctx) {
  bool all = has_switch(ctx.inv.args, "allusers");
  bool verbose = has_switch(ctx.inv.args, "verbose");
  bool json = has_switch(ctx.inv.args, "json");
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("list jobs", m.status());
  auto jobs = (*m)->enum_jobs(all);
  if (!jobs.ok()) return ctx.fail("list jobs", jobs.status());
  if (json) {
    ctx.out << '[';
    for (std::size_t i = 0; i < jobs->size(); ++i) {
      ctx.out << (i ? "," : "") << to_json((*jobs)[i], -1);
    }
    ctx.out << "]\n";
    return 0;
  }
  for (const JobInfo& job : *jobs) {
    ctx.out << (verbose ? verbose_block(job) + "\n" : list_line(job) + "\n");
  }
  ctx.out << "\nListed " << jobs->size() << " job(s).\n";
  return 0;
}

int info(Context& ctx) {
  if (ctx.inv.args.empty()) return ctx.usage("/INFO job [/VERBOSE] [--json]");
  auto job = ctx.resolve(ctx.inv.args[0]);
  if (!job.ok()) return ctx.fail("get job information", job.status());
  auto data = job->info();
  if (!data.ok()) return ctx.fail("get job information", data.status());
  if (has_switch(ctx.inv.args, "json")) {
    ctx.out << to_json(*data) << '\n';
  } else if (has_switch(ctx.inv.args, "verbose")) {
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
  for (const FileInfo& file : data->files) {
    ctx.out << bytes_text(file.progress.bytes_transferred) << " / "
            << bytes_text(file.progress.bytes_total) << ' '
            << (file.progress.completed ? "COMPLETED" : "WORKING") << ' ' << file.remote_name
            << " -> " << file.local_name << '\n';
  }
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
