// One scratch array of an encoder Workspace: storage of its own that grows, or a part of a buffer
// the caller lent (Encoder::use_buffer), never both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace albertner {
namespace detail {

/// Alignment of every array carved from a caller's workspace buffer (a cache line, and the widest
/// vector register).
constexpr std::size_t kScratchAlignment = 64;

/// n rounded up to a multiple of kScratchAlignment; SIZE_MAX where that does not fit.
constexpr std::size_t scratch_round_up(std::size_t n) noexcept {
  return n > SIZE_MAX - (kScratchAlignment - 1) ? SIZE_MAX
                                                : (n + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
}

/// a + b, or SIZE_MAX where that does not fit: a size that cannot exist never wraps to one that fits.
constexpr std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

template <class T>
class ScratchArray {
public:
  T* data() noexcept { return lent_ ? lent_ : owned_.data(); }
  const T* data() const noexcept { return lent_ ? lent_ : owned_.data(); }
  /// Elements usable at data().
  std::size_t size() const noexcept { return lent_ ? lent_size_ : owned_.size(); }
  bool lent() const noexcept { return lent_ != nullptr; }
  /// At least n elements of its own (grown, never shrunk); forgets a lent part. Allocates.
  void grow(std::size_t n) {
    lent_ = nullptr;
    lent_size_ = 0;
    if (owned_.size() < n) owned_.resize(n);
  }
  /// The n elements at `at` (not null), lent by the caller; frees the storage of its own.
  void lend(T* at, std::size_t n) noexcept {
    std::vector<T>().swap(owned_);
    lent_ = at;
    lent_size_ = n;
  }
  /// Nothing lent, nothing owned.
  void clear() noexcept {
    std::vector<T>().swap(owned_);
    lent_ = nullptr;
    lent_size_ = 0;
  }

private:
  std::vector<T> owned_;
  T* lent_ = nullptr; ///< not null: a part of the caller's buffer
  std::size_t lent_size_ = 0;
};

} // namespace detail
} // namespace albertner
