// CHECK_ERROR(result, code, needle): `result` (a Result<T> or Status) failed with `code` and a
// message containing `needle`; the whole message is shown when a check fails.
#pragma once

#include <doctest/doctest.h>

#include <string>

#define CHECK_ERROR(result, want_code, needle)                                     \
  do {                                                                             \
    auto&& r_ = (result);                                                          \
    REQUIRE_FALSE(r_.ok());                                                        \
    INFO(r_.error().what());                                                       \
    CHECK(r_.error().code() == (want_code));                                       \
    CHECK(r_.error().message().find(needle) != std::string::npos);                 \
  } while (0)
