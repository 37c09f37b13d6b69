// HTTP Negotiate tokens from an explicit Kerberos credentials cache; see negotiate.h.
#include "src/daemon/transfer/negotiate.h"

#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "src/common/unique_fd.h"
#include "src/daemon/security/user_open.h"

namespace openbits::daemon {
namespace {

// SPNEGO (1.3.6.1.5.5.2), what browsers and libcurl offer for "Negotiate".
gss_OID_desc kSpnego = {6, const_cast<char*>("\x2b\x06\x01\x05\x05\x02")};

// GSS-API's text for a failure: the major status, then the mechanism's minor status.
std::string gss_text(OM_uint32 major, OM_uint32 minor) {
  std::string text;
  for (auto [code, type] : {std::pair{major, GSS_C_GSS_CODE}, std::pair{minor, GSS_C_MECH_CODE}}) {
    if (code == 0) continue;
    OM_uint32 context = 0;
    do {
      OM_uint32 ignored = 0;
      gss_buffer_desc message = GSS_C_EMPTY_BUFFER;
      if (gss_display_status(&ignored, code, type, GSS_C_NO_OID, &context, &message) !=
          GSS_S_COMPLETE) {
        break;
      }
      if (!text.empty()) text += "; ";
      text.append(static_cast<const char*>(message.value), message.length);
      gss_release_buffer(&ignored, &message);
    } while (context != 0);
  }
  return text;
}

struct GssName {
  gss_name_t name = GSS_C_NO_NAME;
  ~GssName() {
    OM_uint32 minor = 0;
    if (name != GSS_C_NO_NAME) gss_release_name(&minor, &name);
  }
};

struct GssCred {
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  ~GssCred() {
    OM_uint32 minor = 0;
    if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred);
  }
};

struct GssContext {
  gss_ctx_id_t context = GSS_C_NO_CONTEXT;
  ~GssContext() {
    OM_uint32 minor = 0;
    if (context != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &context, GSS_C_NO_BUFFER);
  }
};

std::string base64(const void* data, std::size_t size) {
  std::vector<unsigned char> out(4 * ((size + 2) / 3) + 1);
  int n =
      EVP_EncodeBlock(out.data(), static_cast<const unsigned char*>(data), static_cast<int>(size));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

// The first SPNEGO token for HTTP@host with `cred`, as an Authorization header value.
Result<std::string> initial_token(const GssCred& cred, const std::string& host) {
  OM_uint32 minor = 0;
  OM_uint32 major = 0;
  std::string service = "HTTP@" + host;
  gss_buffer_desc service_buffer{service.size(), service.data()};
  GssName target;
  major = gss_import_name(&minor, &service_buffer, GSS_C_NT_HOSTBASED_SERVICE, &target.name);
  if (GSS_ERROR(major)) {
    return Status(hr::E_FAIL, "bad service name " + service + ": " + gss_text(major, minor));
  }
  GssContext context;
  gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
  major = gss_init_sec_context(&minor, cred.cred, &context.context, target.name, &kSpnego,
                               GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER,
                               nullptr, &token, nullptr, nullptr);
  if (GSS_ERROR(major) || token.length == 0) {
    if (token.value != nullptr) gss_release_buffer(&minor, &token);
    return Status(hr::E_FAIL, "cannot get a ticket for " + service + ": " + gss_text(major, minor));
  }
  std::string header = "Negotiate " + base64(token.value, token.length);
  gss_release_buffer(&minor, &token);
  return header;
}

}  // namespace

Result<std::string> negotiate_authorization(const std::string& host, const std::string& ccache) {
  // The owner names the cache (KRB5CCNAME) and Kerberos opens it without O_NOCTTY: a
  // terminal or other device is refused before Kerberos ever opens it.
  if (ccache.rfind("FILE:", 0) == 0) {
    RegularFile file = open_regular_file(AT_FDCWD, ccache.substr(5));
    UniqueFd opened(file.fd);  // only the check was wanted: closed at the end of this block
    if (file.not_regular) return Status(hr::E_FAIL, ccache + " is not a regular file");
  }
  OM_uint32 minor = 0;
  gss_key_value_element_desc element{"ccache", ccache.c_str()};
  gss_key_value_set_desc store{1, &element};
  gss_OID_set_desc mechanisms{1, &kSpnego};
  GssCred cred;
  OM_uint32 major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechanisms,
                                          GSS_C_INITIATE, &store, &cred.cred, nullptr, nullptr);
  if (GSS_ERROR(major)) {
    return Status(hr::E_FAIL,
                  "no Kerberos credentials in " + ccache + ": " + gss_text(major, minor));
  }
  return initial_token(cred, host);
}

Result<std::string> negotiate_authorization_with_password(const std::string& host,
                                                          const std::string& user,
                                                          const std::string& password) {
  OM_uint32 minor = 0;
  gss_buffer_desc user_buffer{user.size(), const_cast<char*>(user.data())};
  GssName name;
  OM_uint32 major = gss_import_name(&minor, &user_buffer, GSS_C_NT_USER_NAME, &name.name);
  if (GSS_ERROR(major)) {
    return Status(hr::E_FAIL, "bad user name '" + user + "': " + gss_text(major, minor));
  }
  gss_buffer_desc password_buffer{password.size(), const_cast<char*>(password.data())};
  gss_OID_set_desc mechanisms{1, &kSpnego};
  GssCred cred;
  major = gss_acquire_cred_with_password(&minor, name.name, &password_buffer, GSS_C_INDEFINITE,
                                         &mechanisms, GSS_C_INITIATE, &cred.cred, nullptr, nullptr);
  if (GSS_ERROR(major)) {
    return Status(hr::E_FAIL, "the KDC refused " + user + "'s password: " + gss_text(major, minor));
  }
  return initial_token(cred, host);
}

std::string default_ccache(uid_t uid, const std::string& krb5ccname_from_env) {
  const std::string& name = krb5ccname_from_env;
  if (name.rfind("FILE:", 0) == 0 && name.size() > 5 && name[5] == '/') return name;
  if (!name.empty() && name[0] == '/') return "FILE:" + name;
  return "FILE:/tmp/krb5cc_" + std::to_string(uid);
}

}  // namespace openbits::daemon
