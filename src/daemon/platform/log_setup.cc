// bitsd's log; see log_setup.h.
#include "src/daemon/platform/log_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <string>
#include <system_error>

#include "src/common/log_text.h"
#include "src/common/unique_fd.h"

namespace openbits::daemon {
namespace {

// %* in the pattern: the record's text, escaped.
class EscapedText final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    std::string text = escape_log_text(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedText>();
  }
};

std::string error_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// root:adm 0640, or root:root 0600 without an adm group. Called before any thread runs.
bool restrict_to_root_and_adm(int fd) {
  const group* adm = ::getgrnam("adm");  // NOLINT(concurrency-mt-unsafe)
  gid_t gid = adm != nullptr ? adm->gr_gid : 0;
  return ::fchown(fd, 0, gid) == 0 && ::fchmod(fd, adm != nullptr ? 0640 : 0600) == 0;
}

}  // namespace

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("bitsd");
  spdlog::set_default_logger(logger);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedText>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %*");
  spdlog::set_formatter(std::move(formatter));
  spdlog::set_level(spdlog::level::from_str(level));
}

std::optional<std::string> open_log_file(const std::string& path, bool system_instance) {
  UniqueFd fd(::open(path.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600));
  if (!fd.valid()) return "cannot open the log " + path + ": " + error_text(errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return "the log " + path + " is not a regular file";
  }
  bool ok = system_instance ? restrict_to_root_and_adm(fd.get()) : ::fchmod(fd.get(), 0600) == 0;
  if (ok) ok = ::dup2(fd.get(), STDERR_FILENO) >= 0 && ::dup2(fd.get(), STDOUT_FILENO) >= 0;
  int err = errno;
  fd.reset();  // stdout and stderr are the log now
  if (!ok) return "cannot use " + path + " as the log: " + error_text(err);
  return std::nullopt;
}

void protect_inherited_log() {
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return;
  if ((st.st_mode & S_IRWXO) == 0) return;
  if (::fchmod(STDERR_FILENO, st.st_mode & 07770) != 0) {
    spdlog::warn("the log (stderr) is readable by every user and its mode cannot be changed: {}",
                 error_text(errno));
  }
}

}  // namespace openbits::daemon
