// bitsd-proxy-resolver URL: prints, one per line, the proxies libproxy finds for URL
// ("http://host:port", "direct://"). bitsd runs it as a job's owner for AUTODETECT proxy
// settings (WPAD and PAC, see src/daemon/transfer/proxy_resolver.h); exit 0 on success.
#include <proxy.h>
#include <sys/prctl.h>

#include <cstdio>

int main(int argc, char** argv) {
  // First, before anything is read: not dumpable, so no other process of this uid can
  // ptrace it or open its /proc/PID/mem and rewrite the answer. (execve made it dumpable
  // again: the uid switch happened before it, so the kernel saw no change of credentials.)
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 1;
  if (argc != 2) {
    std::fputs("usage: bitsd-proxy-resolver URL\n", stderr);
    return 2;
  }
  pxProxyFactory* factory = px_proxy_factory_new();
  if (!factory) return 1;
  char** proxies = px_proxy_factory_get_proxies(factory, argv[1]);
  int status = 1;
  if (proxies) {
    for (char** p = proxies; *p; ++p) std::printf("%s\n", *p);
    px_proxy_factory_free_proxies(proxies);
    status = 0;
  }
  px_proxy_factory_free(factory);
  return std::fflush(stdout) == 0 ? status : 1;
}
