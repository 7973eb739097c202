// Read-only views of whole files: memory-mapped where possible, so weights are never copied.
#pragma once

#include "../status.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace albertner {
namespace detail {

/// A whole file mapped read-only (an empty file maps to an empty view). Move-only.
class MappedFile {
public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  ~MappedFile() { release(); }

  static Result<MappedFile> open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error(errc::io, path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return Error(errc::io, path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return Error(errc::io, path + ": not a regular file");
    }
    MappedFile f;
    f.size_ = static_cast<std::size_t>(st.st_size);
    if (f.size_ > 0) {
      void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        return Error(errc::io, path + ": cannot map " + std::to_string(f.size_) + " bytes: " + std::strerror(e));
      }
      f.data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);
    return f;
  }

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  /// Lets the kernel drop the resident pages wholly inside [p, p + n) (a part of this mapping the
  /// caller has copied and will not read again); a later read maps them back from the file.
  void evict(const void* p, std::size_t n) const noexcept {
    const auto first = reinterpret_cast<std::uintptr_t>(p), base = reinterpret_cast<std::uintptr_t>(data_);
    if (!data_ || first < base || first + n > base + size_) return;
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (page_size <= 0) return;
    const std::uintptr_t page = static_cast<std::uintptr_t>(page_size);
    const std::uintptr_t begin = (first + page - 1) / page * page, end = (first + n) / page * page;
    if (begin < end) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }

private:
  void release() noexcept {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace detail
} // namespace albertner
