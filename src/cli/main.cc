// bitsadmin: the openbits command-line tool, accepting Windows bitsadmin syntax.
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "src/cli/commands.h"
#include "src/cli/format.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  openbits::cli::Invocation invocation = openbits::cli::parse_invocation(args);
  // --version prints the version only.
  if (!invocation.raw && !invocation.json && invocation.command != "version") {
    std::cout << openbits::cli::banner();
  }
  // /NOWRAP on a terminal: cut every output line at the terminal's width.
  struct winsize size {};
  bool truncate = invocation.nowrap && ::isatty(STDOUT_FILENO) == 1 &&
                  ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 &&
                  invocation.command != "transfer";
  if (!truncate) {
    int status = openbits::cli::run(invocation, std::cout, std::cerr);
    std::cout.flush();
    return status;
  }
  std::ostringstream buffered;
  int status = openbits::cli::run(invocation, buffered, std::cerr);
  std::istringstream lines(buffered.str());
  for (std::string line; std::getline(lines, line);) {
    std::cout << line.substr(0, size.ws_col) << '\n';
  }
  return status;
}
