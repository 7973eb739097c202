# CMake toolchain for a cross build to 64-bit ARM Linux with Debian's g++-aarch64-linux-gnu, as driven
# by scripts/cross.sh. The C library and libstdc++ come with the compiler (/usr/aarch64-linux-gnu);
# the dependencies (sentencepiece, utf8proc, Eigen, doctest, CLI11) come from Debian's arm64 packages,
# unpacked into a folder of their own (ALBERTNER_AARCH64_SYSROOT, default build-aarch64/sysroot) so
# that the host's amd64 packages are never touched. Tests run under qemu-aarch64
# (CMAKE_CROSSCOMPILING_EMULATOR), so `ctest` works in the cross build tree.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT ALBERTNER_AARCH64_SYSROOT)
  if(DEFINED ENV{ALBERTNER_AARCH64_SYSROOT})
    set(ALBERTNER_AARCH64_SYSROOT "$ENV{ALBERTNER_AARCH64_SYSROOT}")
  else()
    set(ALBERTNER_AARCH64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build-aarch64/sysroot")
  endif()
endif()
get_filename_component(ALBERTNER_AARCH64_SYSROOT "${ALBERTNER_AARCH64_SYSROOT}" ABSOLUTE)
# try_compile projects read the toolchain file again: hand them the same folder.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ALBERTNER_AARCH64_SYSROOT)

# Headers, libraries and CMake packages from the unpacked packages and the compiler's own tree only;
# programs (pkg-config, cmake itself) from the host.
set(CMAKE_FIND_ROOT_PATH "${ALBERTNER_AARCH64_SYSROOT}" /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (sentencepiece, utf8proc) reads the arm64 .pc files only, with their paths moved into
# the unpacked folder.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${ALBERTNER_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${ALBERTNER_AARCH64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ALBERTNER_AARCH64_SYSROOT}")

# add_test commands (ctest) run under user-mode emulation: the compiler's C library, and the unpacked
# shared libraries (the build tree's RPATH names them too).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu -E
    "LD_LIBRARY_PATH=${ALBERTNER_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu")
