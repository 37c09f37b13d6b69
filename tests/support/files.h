// Whole-file reads for assertions on logs, reports and downloaded bytes.
#pragma once

#include <string>

namespace openbits::test {

// The file's bytes as they are; "" when it cannot be read.
std::string read_text(const std::string& path);

}  // namespace openbits::test
