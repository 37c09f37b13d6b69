// openbits/export.h: symbol visibility for the public client library.
#pragma once

#if defined(OPENBITS_BUILDING_LIBRARY)
#define OPENBITS_EXPORT __attribute__((visibility("default")))
#else
#define OPENBITS_EXPORT
#endif
