# Runs ports/qmath/portfile.cmake without vcpkg (which cannot be fetched in
# qmath's CI): the vcpkg helpers the port calls are replaced by small
# stand-ins that run the same CMake configure and install, then lay the
# package out as vcpkg does (config in share/qmath, pkg-config relocated,
# copyright and usage in share/qmath). The driver then builds consumers
# against CURRENT_PACKAGES_DIR. What this does not prove: vcpkg's own
# versions of these helpers, its post-build lints and the registry fetch.
#
#   cmake -DPACKAGES_DIR=... -DBUILDTREES_DIR=... -P run_portfile.cmake
cmake_minimum_required(VERSION 3.23)
foreach(_var PACKAGES_DIR BUILDTREES_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run_portfile.cmake: -D${_var}=... is required")
  endif()
endforeach()

get_filename_component(_port_dir "${CMAKE_CURRENT_LIST_DIR}/../../../ports/qmath" ABSOLUTE)
file(READ "${_port_dir}/vcpkg.json" _manifest)
string(JSON PORT GET "${_manifest}" name)
string(JSON VERSION GET "${_manifest}" version)
set(CURRENT_PACKAGES_DIR "${PACKAGES_DIR}")
set(CURRENT_BUILDTREES_DIR "${BUILDTREES_DIR}")
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}" "${CURRENT_BUILDTREES_DIR}")

function(vcpkg_from_github)
  message(FATAL_ERROR "the port tried to download its source: it should build the checkout it sits in")
endfunction()

function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH" "OPTIONS")
  if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
    message(FATAL_ERROR "the port should set VCPKG_BUILD_TYPE release before configuring")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${arg_SOURCE_PATH}" -B "${CURRENT_BUILDTREES_DIR}/rel"
                          -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_INSTALL_PREFIX=${CURRENT_PACKAGES_DIR}"
                          ${arg_OPTIONS}
                  RESULT_VARIABLE _rc)
  if(_rc)
    message(FATAL_ERROR "configure failed")
  endif()
endfunction()

function(vcpkg_cmake_install)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${CURRENT_BUILDTREES_DIR}/rel" --target install
                  RESULT_VARIABLE _rc)
  if(_rc)
    message(FATAL_ERROR "install failed")
  endif()
endfunction()

# Moves the config files to share/<port> and re-roots the paths they compute
# from their own location, one directory level less deep.
function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "CONFIG_PATH" "")
  set(_from "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}")
  set(_to "${CURRENT_PACKAGES_DIR}/share/${PORT}")
  if(NOT EXISTS "${_from}/${PORT}Config.cmake")
    message(FATAL_ERROR "no ${PORT}Config.cmake in ${arg_CONFIG_PATH}")
  endif()
  file(GLOB _files "${_from}/*.cmake")
  file(MAKE_DIRECTORY "${_to}")
  string(REGEX MATCHALL "/" _from_depth "${arg_CONFIG_PATH}")
  list(LENGTH _from_depth _from_levels)
  math(EXPR _from_levels "${_from_levels} + 1")  # share/cmake/qmath: 3 levels below the prefix
  foreach(_file IN LISTS _files)
    get_filename_component(_name "${_file}" NAME)
    file(READ "${_file}" _text)
    # install(EXPORT): one get_filename_component(... PATH) per level; drop one.
    set(_one_level "get_filename_component(_IMPORT_PREFIX \"\${_IMPORT_PREFIX}\" PATH)\n")
    string(REPLACE "${_one_level}" "" _stripped "${_text}")
    if(NOT _stripped STREQUAL _text)
      math(EXPR _levels_left "${_from_levels} - 1")
      string(REPEAT "${_one_level}" ${_levels_left} _levels)
      string(REPLACE "get_filename_component(_IMPORT_PREFIX \"\${CMAKE_CURRENT_LIST_FILE}\" PATH)\n"
                     "get_filename_component(_IMPORT_PREFIX \"\${CMAKE_CURRENT_LIST_FILE}\" PATH)\n${_levels}"
                     _text "${_stripped}")
    endif()
    # configure_package_config_file: PACKAGE_PREFIX_DIR relative to the config file.
    string(REPEAT "../" ${_from_levels} _old_up)
    math(EXPR _new_levels "${_from_levels} - 1")
    string(REPEAT "../" ${_new_levels} _new_up)
    string(REPLACE "\${CMAKE_CURRENT_LIST_DIR}/${_old_up}" "\${CMAKE_CURRENT_LIST_DIR}/${_new_up}" _text "${_text}")
    file(WRITE "${_to}/${_name}" "${_text}")
  endforeach()
  file(REMOVE_RECURSE "${_from}")
  file(GLOB _left "${CURRENT_PACKAGES_DIR}/share/cmake/*")
  if(NOT _left)
    file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/cmake")
  endif()
endfunction()

# vcpkg rewrites every .pc file's prefix relative to ${pcfiledir} and rejects
# absolute build paths; qmath.pc must already be relocatable.
function(vcpkg_fixup_pkgconfig)
  file(GLOB_RECURSE _pcs "${CURRENT_PACKAGES_DIR}/*.pc")
  if(NOT _pcs)
    message(FATAL_ERROR "the port calls vcpkg_fixup_pkgconfig but installs no .pc file")
  endif()
  foreach(_pc IN LISTS _pcs)
    file(READ "${_pc}" _text)
    if(_text MATCHES "${CURRENT_PACKAGES_DIR}")
      message(FATAL_ERROR "${_pc} holds the absolute install path")
    endif()
  endforeach()
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  foreach(_file IN LISTS arg_FILE_LIST)
    if(NOT EXISTS "${_file}")
      message(FATAL_ERROR "vcpkg_install_copyright: ${_file} does not exist")
    endif()
  endforeach()
  set(_text "")
  foreach(_file IN LISTS arg_FILE_LIST)
    file(READ "${_file}" _part)
    string(APPEND _text "${_part}")
  endforeach()
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${_text}")
endfunction()

include("${_port_dir}/portfile.cmake")

# vcpkg's post-build checks that matter for a header-only port.
foreach(_required include/qmath/version.hpp share/${PORT}/${PORT}Config.cmake share/${PORT}/${PORT}ConfigVersion.cmake
                  share/${PORT}/usage share/${PORT}/copyright share/pkgconfig/${PORT}.pc)
  if(NOT EXISTS "${CURRENT_PACKAGES_DIR}/${_required}")
    message(FATAL_ERROR "the package lacks ${_required}")
  endif()
endforeach()
foreach(_forbidden lib bin debug share/cmake)
  if(EXISTS "${CURRENT_PACKAGES_DIR}/${_forbidden}")
    message(FATAL_ERROR "a header-only package must not ship ${_forbidden}/")
  endif()
endforeach()
file(GLOB_RECURSE _installed "${CURRENT_PACKAGES_DIR}/share/*")
foreach(_file IN LISTS _installed)
  file(READ "${_file}" _text)
  if(_text MATCHES "${CURRENT_PACKAGES_DIR}|${CURRENT_BUILDTREES_DIR}")
    message(FATAL_ERROR "${_file} holds an absolute build path")
  endif()
endforeach()
message(STATUS "portfile ran: ${PORT} ${VERSION} in ${CURRENT_PACKAGES_DIR}")
