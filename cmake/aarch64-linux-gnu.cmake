# Cross build for arm64 Linux (Raspberry Pi 4/5, phones' Linux userland) with Debian's cross
# toolchain (crossbuild-essential-arm64) and the arm64 multiarch -dev packages, set up by
# scripts/setup_arm64.sh. Used by `make test-arm64`:
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Libraries are found in /usr/lib/aarch64-linux-gnu (multiarch), except XNNPACK and pthreadpool,
# whose Debian packages are not multiarch: setup_arm64.sh unpacks them into
# EDGEOPT_ARM64_SYSROOT (default: <build>/sysroot), searched here as an extra prefix.
#
# Tests run under qemu user-mode emulation (CMAKE_CROSSCOMPILING_EMULATOR). The binaries use the
# multiarch loader /lib/ld-linux-aarch64.so.1 and libraries of the host's /usr/lib/aarch64-linux-gnu;
# qemu must not be given `-L /usr/aarch64-linux-gnu` (that loader does not match the multiarch
# libc and hangs at the first pthread_create). EDGEOPT_QEMU_CPU picks the emulated core: `max`
# (all the extensions qemu knows, dot product included, like a Pi 5's Cortex-A76) or `cortex-a72`
# (a Pi 4: no dot product).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Host programs (protoc, python) come from the host; libraries, headers and CMake packages are
# searched in the usual prefixes, where CMAKE_LIBRARY_ARCHITECTURE selects the arm64 ones.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config (which some find modules ask first, e.g. FindOpenSSL) must answer with the arm64
# .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

if(NOT DEFINED EDGEOPT_ARM64_SYSROOT)
  set(EDGEOPT_ARM64_SYSROOT "${CMAKE_BINARY_DIR}/sysroot")
endif()
list(APPEND CMAKE_PREFIX_PATH "${EDGEOPT_ARM64_SYSROOT}/usr")

# libtorch is x86-only here: no training backend in the arm64 build.
set(CMAKE_DISABLE_FIND_PACKAGE_Torch ON)

if(NOT DEFINED EDGEOPT_QEMU_CPU)
  set(EDGEOPT_QEMU_CPU max)
endif()
find_program(EDGEOPT_QEMU_AARCH64 qemu-aarch64)
if(EDGEOPT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${EDGEOPT_QEMU_AARCH64};-cpu;${EDGEOPT_QEMU_CPU}")
endif()
