// bitsadmin /TRANSFER: create a job, add the files, resume, follow it to the end, complete
// it. Live progress is drawn in place only on a terminal; otherwise only the final frame.
// A job waiting in TRANSIENT_ERROR is reported (state, error, next retry) once per change,
// and the command keeps waiting, as BITS does.
// A fatal error or Ctrl+C cancels the job this command created.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ostream>
#include <thread>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

Status configure(Job& job, const TransferArgs& args) {
  if (Status s = job.set_priority(args.priority); !s.ok()) return s;
  if (args.acl_flags) {
    if (Status s = job.set_file_acl_flags(*args.acl_flags); !s.ok()) return s;
  }
  if (args.dynamic) {
    if (Status s = job.set_dynamic_content(true); !s.ok()) return s;
  }
  if (Status s = job.add_file_set(args.files); !s.ok()) return s;
  return job.resume();
}

class Progress {
 public:
  Progress(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  void draw(const JobInfo& info) {
    auto now = std::chrono::steady_clock::now();
    if (!tty_ || now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    std::string frame =
        transfer_frame(info) + " " +
        progress_bar(info.progress.bytes_transferred, info.progress.bytes_total, 20) + rate(info);
    if (drawn_) out_ << "\r\033[1A";
    out_ << "\033[2K" << frame.substr(0, frame.find('\n')) << "\n\033[2K"
         << frame.substr(frame.find('\n') + 1) << std::flush;
    drawn_ = true;
  }
  // A line of its own between frames (the next frame is drawn below it).
  void note(const std::string& line) {
    if (drawn_) out_ << "\r\033[1A\033[2K";
    out_ << line << (tty_ ? "\033[J" : "") << '\n' << std::flush;
    drawn_ = false;
  }
  void final(const JobInfo& info) {
    if (drawn_) out_ << "\r\033[1A\033[2K";
    out_ << transfer_frame(info) << (tty_ ? "\033[K" : "") << '\n';
  }

 private:
  std::string rate(const JobInfo& info) {
    auto now = std::chrono::steady_clock::now();
    std::uint64_t bytes = info.progress.bytes_transferred;
    if (last_bytes_ <= bytes && last_time_.time_since_epoch().count() != 0) {
      double seconds = std::chrono::duration<double>(now - last_time_).count();
      if (seconds > 0) {
        rate_ = 0.7 * rate_ + 0.3 * (static_cast<double>(bytes - last_bytes_) / seconds);
      }
    }
    last_bytes_ = bytes;
    last_time_ = now;
    std::uint64_t total = info.progress.bytes_total;
    long eta = (rate_ > 1 && total != kSizeUnknown && total >= bytes)
                   ? static_cast<long>(static_cast<double>(total - bytes) / rate_)
                   : -1;
    std::string eta_text = eta < 0 ? "--:--"
                                   : std::to_string(eta / 60) + ":" + (eta % 60 < 10 ? "0" : "") +
                                         std::to_string(eta % 60);
    return " " + rate_text(rate_) + " ETA " + eta_text;
  }
  std::ostream& out_;
  bool tty_;
  bool drawn_ = false;
  std::uint64_t last_bytes_ = 0;
  std::chrono::steady_clock::time_point last_time_{};
  std::chrono::steady_clock::time_point last_draw_{};
  double rate_ = 0;
};

// The exit status once the job reached an end (or Ctrl+C came); nullopt while it runs.
std::optional<int> finished(Context& ctx, Job& job, const JobInfo& info, Progress& progress) {
  if (g_interrupted) {
    (void)job.cancel();
    progress.final(info);
    ctx.err << "Transfer canceled.\n";
    return 130;
  }
  if (info.state == JobState::kTransferred) {
    Status s = job.complete();
    if (!s.ok()) return ctx.fail("complete job", s);
    progress.final(info);
    ctx.out << "Transfer complete.\n";
    return 0;
  }
  if (info.state != JobState::kError) return std::nullopt;
  progress.final(info);
  ctx.out << error_block(info);
  (void)job.cancel();
  HRESULT code = info.error ? info.error->code : hr::E_FAIL;
  ctx.err << "Unable to complete transfer - " << hresult_hex(code) << ". " << describe_hresult(code)
          << '\n';
  return 1;
}

// BITS keeps waiting through transient errors (bitsadmin.md §8); says so once per new
// error or retry time instead of waiting silently.
void report_transient(const JobInfo& info, Progress& progress, std::string& reported) {
  if (info.state != JobState::kTransientError) return;
  std::string line = transient_error_line(info);
  if (line == reported) return;
  reported = line;
  progress.note(line);
}

int follow(Context& ctx, Job& job) {
  Progress progress(ctx.out, ::isatty(STDOUT_FILENO) == 1);
  std::string reported;  // the last TRANSIENT_ERROR line
  for (;;) {
    auto info = job.info();
    if (!info.ok()) {
      if (g_interrupted) (void)job.cancel();
      return ctx.fail("transfer", info.status());
    }
    if (auto status = finished(ctx, job, *info, progress)) return *status;
    report_transient(*info, progress, reported);
    progress.draw(*info);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int transfer(Context& ctx) {
  auto args = parse_transfer_args(ctx.inv.args);
  if (!args.ok()) {
    return ctx.usage(
        "/TRANSFER name [/DOWNLOAD | /UPLOAD | /UPLOAD-REPLY] [/PRIORITY priority] "
        "[/ACLFLAGS flags] "
        "[/DYNAMIC] remote_url local_name [remote_url local_name ...]",
        args.status());
  }
  // From here on Ctrl+C cancels the job this command creates.
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("create job", m.status());
  auto job = (*m)->create_job(args->name, args->type);
  if (!job.ok()) return ctx.fail("create job", job.status());
  if (Status s = configure(*job, *args); !s.ok()) {
    (void)job->cancel();  // leave no job behind
    return ctx.fail("add file to job", s);
  }
  return follow(ctx, *job);
}

}  // namespace

void add_transfer_commands(std::map<std::string, Handler>& table) { table["transfer"] = transfer; }

}  // namespace openbits::cli
