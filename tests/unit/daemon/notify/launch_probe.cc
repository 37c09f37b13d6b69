// launch_probe: the program process_launcher_test starts through ForkLauncher. It writes
// what it was started with to the file named by argv[1], one item a line:
//   uid=R/E gid=R/E groups=G,G cwd=PATH fd0=TARGET fd1=TARGET fd2=TARGET fds=0,1,2
//   env=NAME=value (one line each) argv=ARG (one line each, from argv[2] on)
// The open descriptors are listed before the output file is opened. Exits 0, or 2 when
// it cannot write. No libraries beyond libc and libstdc++.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

std::string open_fds() {
  std::string out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return "unreadable";
  std::vector<int> fds;
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    int fd = std::stoi(name);
    if (fd != ::dirfd(dir)) fds.push_back(fd);
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) out += (out.empty() ? "" : ",") + std::to_string(fd);
  return out;
}

std::string target_of(int fd) {
  char buffer[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buffer, sizeof(buffer));
  return n < 0 ? "closed" : std::string(buffer, static_cast<std::size_t>(n));
}

std::string groups() {
  std::vector<gid_t> list(static_cast<std::size_t>(::getgroups(0, nullptr)));
  list.resize(static_cast<std::size_t>(::getgroups(static_cast<int>(list.size()), list.data())));
  std::string out;
  for (gid_t g : list) out += (out.empty() ? "" : ",") + std::to_string(g);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string fds = open_fds();  // before the output file adds one
  std::string targets;
  for (int fd = 0; fd < 3; ++fd) {
    targets += "fd" + std::to_string(fd) + "=" + target_of(fd) + "\n";
  }
  char cwd[PATH_MAX] = "";
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) cwd[0] = '\0';
  std::ofstream out(argv[1]);
  out << "uid=" << ::getuid() << "/" << ::geteuid() << "\ngid=" << ::getgid() << "/" << ::getegid()
      << "\ngroups=" << groups() << "\ncwd=" << cwd << "\n"
      << targets << "fds=" << fds << "\n";
  for (char** e = environ; *e != nullptr; ++e) out << "env=" << *e << "\n";
  for (int i = 2; i < argc; ++i) out << "argv=" << argv[i] << "\n";
  return out.good() ? 0 : 2;
}
