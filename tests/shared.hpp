// Locating ../shared (golden fixtures, data) from tests; tests that need it skip without it,
// except where ALBERTNER_REQUIRE_SHARED is set (.ci/run sets it: in CI a missing fixture fails).
#pragma once

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace albertner_test {

/// Path of a file or folder inside the shared folder ("golden/tiny/config.json").
inline std::string shared_path(const std::string& relative) {
  return std::string(ALBERTNER_SHARED_DIR) + "/" + relative;
}

/// True when `relative` exists under the shared folder. Otherwise the calling test is skipped,
/// with one line saying why, or fails where ALBERTNER_REQUIRE_SHARED is set to anything but 0.
/// Use: `if (!albertner_test::have_shared("golden/tiny")) return;`
inline bool have_shared(const std::string& relative) {
  struct stat st;
  if (::stat(shared_path(relative).c_str(), &st) == 0) return true;
  const char* required = std::getenv("ALBERTNER_REQUIRE_SHARED");
  if (required && *required && std::string(required) != "0")
    FAIL_CHECK(shared_path(relative) << " not found, and ALBERTNER_REQUIRE_SHARED is set");
  else
    MESSAGE("skipped: " << shared_path(relative)
                        << " not found (set -DALBERTNER_SHARED_DIR to the shared fixtures folder)");
  return false;
}

} // namespace albertner_test
