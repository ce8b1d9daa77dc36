# qmath_add_dispatch(TARGET SOURCE INCLUDE_DIR): builds qmath's runtime CPU
# dispatch (include/qmath/kernels/dispatch.hpp) as the static library TARGET:
# SOURCE (qmath_dispatch.cpp) compiled once per tier with that tier's flags.
# Called by qmath's CMakeLists.txt (add_subdirectory, FetchContent) and by the
# installed qmathConfig.cmake (find_package), so every CMake consumer of
# qmath::qmath gets the dispatch with nothing to do. x86-64 with g++ or clang
# only; elsewhere it does nothing and the kernels are those each translation
# unit is compiled for.
function(qmath_add_dispatch target source include_dir)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    return()
  endif()
  # tier number (qmath::isa) and flags; the baseline also holds the scalar table.
  set(_tiers
    "1|-march=x86-64"
    "2|-march=x86-64-v2"
    "3|-march=x86-64-v3"
    "4|-march=x86-64-v4"
    "5|-march=x86-64-v4 -mavx512vbmi -mavx512vnni -mavx512bf16")
  add_library(${target} STATIC)
  foreach(_tier IN LISTS _tiers)
    string(REPLACE "|" ";" _parts "${_tier}")
    list(GET _parts 0 _n)
    list(GET _parts 1 _flag_string)
    separate_arguments(_flags UNIX_COMMAND "${_flag_string}")
    set(_object ${target}_tier${_n})
    add_library(${_object} OBJECT "${source}")
    target_compile_features(${_object} PRIVATE cxx_std_20)
    target_include_directories(${_object} PRIVATE "${include_dir}")
    target_link_libraries(${_object} PRIVATE xsimd)
    target_compile_definitions(${_object} PRIVATE QMATH_DISPATCH=1 QMATH_DISPATCH_TIER=${_n})
    # -mtune=generic: the tiers run on any CPU that has their instruction sets.
    target_compile_options(${_object} PRIVATE ${_flags} -mtune=generic)
    set_target_properties(${_object} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    # Lowest tier first: a function that two tiers instantiate alike (code
    # not templated on the architecture) is kept from the first object the
    # linker reads, so it never needs more than the tier that calls it.
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${_object}>)
  endforeach()
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX POSITION_INDEPENDENT_CODE ON)
endfunction()
