// Store::check_integrity: SQLite's own integrity check of the job store (bitsadmin /util
// /repairservice); see store.h.
#include <sqlite3.h>

#include "src/daemon/core/store.h"

namespace openbits::daemon {
namespace {

// One row of PRAGMA integrity_check: "ok", or one problem per row.
int collect_row(void* out, int columns, char** values, char** /*names*/) {
  auto* problems = static_cast<std::vector<std::string>*>(out);
  if (columns > 0 && values[0] && std::string(values[0]) != "ok") problems->push_back(values[0]);
  return 0;
}

}  // namespace

Result<std::vector<std::string>> Store::check_integrity() {
  static_assert(kMaxIntegrityProblems == 100, "the PRAGMA below names the limit");
  std::vector<std::string> problems;
  char* message = nullptr;
  int rc = sqlite3_exec(db_, "PRAGMA integrity_check(100)", collect_row, &problems, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    // SQLITE_CORRUPT and SQLITE_NOTADB: the check could not even read the database.
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return std::vector<std::string>{text};
    return Status(hr::E_FAIL, path_ + ": cannot run the integrity check: " + text);
  }
  return problems;
}

}  // namespace openbits::daemon
