// Pure helpers of job_credentials.cc, exposed for unit tests.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "openbits/status.h"
#include "openbits/types.h"

namespace openbits::daemon {

// SetCredentials argument rules (bits-spec §1.3): target 1..2 else BG_E_INVALID_AUTH_TARGET,
// scheme 1..5 else BG_E_INVALID_AUTH_SCHEME, user name <= 300 characters else
// BG_E_USERNAME_TOO_LARGE, password <= 65,535 else BG_E_PASSWORD_TOO_LARGE; BASIC, DIGEST
// and PASSPORT need both a user name and a password, NTLM and NEGOTIATE take both or neither
// (neither: implicit credentials); else E_INVALIDARG.
Status validate_credentials(const AuthCredentials& credentials);

// The proxy and Kerberos variables of a process's environment (/proc/<pid>/environ), with
// lower-case names: http_proxy, https_proxy, all_proxy, no_proxy (upper-case spellings
// count when the lower-case one is absent), krb5ccname. Empty when the process is gone or
// belongs to another uid than `uid` (a reused pid).
std::map<std::string, std::string> read_owner_environment(pid_t pid, uid_t uid);

}  // namespace openbits::daemon
