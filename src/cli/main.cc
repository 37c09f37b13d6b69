// bitsadmin: the openbits command-line tool, accepting Windows bitsadmin syntax.
#include <iostream>
#include <string>
#include <vector>

#include "src/cli/commands.h"
#include "src/cli/format.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  openbits::cli::Invocation invocation = openbits::cli::parse_invocation(args);
  if (!invocation.raw) std::cout << openbits::cli::banner();
  int status = openbits::cli::run(invocation, std::cout, std::cerr);
  std::cout.flush();
  return status;
}
