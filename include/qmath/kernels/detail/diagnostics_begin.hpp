// Included at the top of kernel headers that use AVX-512 intrinsics, paired
// with diagnostics_end.hpp; no include guard on purpose. GCC 12 reports its
// own _mm512_undefined_* placeholders inside the intrinsics as
// (maybe-)uninitialized (GCC bug 105593), -Wuninitialized at -O1 as in the
// sanitizer build, -Wmaybe-uninitialized at -O2 and above.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
