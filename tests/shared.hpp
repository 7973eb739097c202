// Locating ../shared (golden fixtures, data) from tests; tests that need it skip without it.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <sys/stat.h>

namespace albertner_test {

/// Path of a file or folder inside the shared folder ("golden/tiny/config.json").
inline std::string shared_path(const std::string& relative) {
  return std::string(ALBERTNER_SHARED_DIR) + "/" + relative;
}

/// True when `relative` exists under the shared folder; otherwise prints one line saying why
/// the calling test is skipped. Use: `if (!albertner_test::have_shared("golden/tiny")) return;`
inline bool have_shared(const std::string& relative) {
  struct stat st;
  if (::stat(shared_path(relative).c_str(), &st) == 0) return true;
  MESSAGE("skipped: " << shared_path(relative)
                      << " not found (set -DALBERTNER_SHARED_DIR to the shared fixtures folder)");
  return false;
}

} // namespace albertner_test
