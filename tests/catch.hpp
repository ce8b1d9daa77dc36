#pragma once
// Catch2 v2 (Debian) and v3 name their headers differently; tests include this.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
