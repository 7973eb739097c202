# Install rules: headers, the exported target albertner::albertner, its CMake package files and albertner.pc.
# Included by the top-level CMakeLists.txt when ALBERTNER_INSTALL is ON.
#
# Layout under the prefix (the C++ library is header-only and architecture independent, like
# Eigen's; the C API, when built, adds one static library and makes the package architecture dependent):
#   include/albertner/**.hpp, include/albertner/albertner.h
#   lib/libalbertner_c.a                          (ALBERTNER_BUILD_C_API)
#   share/cmake/albertner/albertner{Config,ConfigVersion,Targets}.cmake
#   share/pkgconfig/albertner.pc, share/pkgconfig/albertner-c.pc (ALBERTNER_BUILD_C_API)
#   share/doc/albertner/LICENSE
include(CMakePackageConfigHelpers)

set(ALBERTNER_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/albertner" CACHE STRING
    "Where albertnerConfig.cmake is installed (relative to the prefix)")
set(ALBERTNER_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig" CACHE STRING
    "Where albertner.pc is installed (relative to the prefix)")
mark_as_advanced(ALBERTNER_INSTALL_CMAKEDIR ALBERTNER_INSTALL_PKGCONFIGDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/albertner"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(TARGETS albertner EXPORT albertnerTargets)
if(TARGET albertner_c)
  install(TARGETS albertner_c EXPORT albertnerTargets ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  set(ALBERTNER_WITH_C_API ON) # albertnerConfig.cmake then finds Threads for albertner::c
  set(_albertner_arch "")
else()
  set(ALBERTNER_WITH_C_API OFF)
  set(_albertner_arch ARCH_INDEPENDENT)
endif()
install(EXPORT albertnerTargets
        NAMESPACE albertner::
        FILE albertnerTargets.cmake
        DESTINATION "${ALBERTNER_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/albertnerConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/albertnerConfig.cmake"
  INSTALL_DESTINATION "${ALBERTNER_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/albertnerConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion # 0.x: minor versions may break the API
  ${_albertner_arch})
install(FILES "${PROJECT_BINARY_DIR}/albertnerConfig.cmake" "${PROJECT_BINARY_DIR}/albertnerConfigVersion.cmake"
        DESTINATION "${ALBERTNER_INSTALL_CMAKEDIR}")

# albertner.pc is relocatable: prefix is found from the .pc file's own folder (${pcfiledir}), so
# `cmake --install build --prefix ANYWHERE` yields a working file without reconfiguring.
if(IS_ABSOLUTE "${ALBERTNER_INSTALL_PKGCONFIGDIR}")
  set(ALBERTNER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _albertner_pc_up "/__prefix__/${ALBERTNER_INSTALL_PKGCONFIGDIR}" "/__prefix__")
  string(REGEX REPLACE "/$" "" _albertner_pc_up "${_albertner_pc_up}")
  set(ALBERTNER_PC_PREFIX "\${pcfiledir}/${_albertner_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(ALBERTNER_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(ALBERTNER_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/albertner.pc.in" "${PROJECT_BINARY_DIR}/albertner.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/albertner.pc" DESTINATION "${ALBERTNER_INSTALL_PKGCONFIGDIR}")
if(TARGET albertner_c)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(ALBERTNER_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
  else()
    set(ALBERTNER_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  endif()
  configure_file("${PROJECT_SOURCE_DIR}/cmake/albertner-c.pc.in" "${PROJECT_BINARY_DIR}/albertner-c.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/albertner-c.pc" DESTINATION "${ALBERTNER_INSTALL_PKGCONFIGDIR}")
endif()

if(EXISTS "${PROJECT_SOURCE_DIR}/LICENSE")
  install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/albertner")
endif()
