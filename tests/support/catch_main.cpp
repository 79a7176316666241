// The Catch2 main shared by every test executable, and LeakSanitizer's suppressions for it in a
// sanitized build (the same as tests/sanitizers/lsan.supp, which programs run by tests use).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// fontconfig (loaded by cairo for the plots' text) keeps global caches it never frees.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
