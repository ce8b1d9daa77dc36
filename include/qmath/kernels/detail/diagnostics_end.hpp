// Closes diagnostics_begin.hpp; no include guard on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
