// HTTP Negotiate (SPNEGO with Kerberos, RFC 4559) with a job owner's own ticket cache.
//
// libcurl's Negotiate support takes its credentials from process-wide state (KRB5CCNAME,
// or the cache of the process's uid): in bitsd, which serves every user from one process
// and one transfer thread, that would be root's tickets or whichever user's came last. So
// bitsd makes the token itself: the credentials are acquired from an explicit cache name
// (gss_acquire_cred_from with a "ccache" credential store), which touches no global
// state, and the token goes out as an Authorization header on the retried request.
// Call it under the owner's file-system credentials (ScopedFsCredentials): the cache is
// read with the owner's rights, never root's.
#pragma once

#include <sys/types.h>

#include <string>

#include "openbits/status.h"

namespace openbits::daemon {

// The initial "Negotiate <base64 token>" for the service HTTP@`host`, from the Kerberos
// credentials cache `ccache` (e.g. "FILE:/tmp/krb5cc_1000"). An error when the cache has
// no usable ticket-granting ticket or the KDC does not know the service; its message holds
// GSS-API's own text.
Result<std::string> negotiate_authorization(const std::string& host, const std::string& ccache);

// The same with explicit credentials (SetCredentials NEGOTIATE with a user name): a
// ticket-granting ticket is obtained from the KDC with `password` for `user` ("alice" in
// the default realm, or "alice@REALM"), held in memory only, never in a cache file.
Result<std::string> negotiate_authorization_with_password(const std::string& host,
                                                          const std::string& user,
                                                          const std::string& password);

// The cache a user's Kerberos tools use by default: KRB5CCNAME from the environment the
// job was created in if it names a FILE: cache or a plain path, else FILE:/tmp/krb5cc_<uid>
// (MIT's default).
std::string default_ccache(uid_t uid, const std::string& krb5ccname_from_env);

}  // namespace openbits::daemon
