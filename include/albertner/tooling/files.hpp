// Files as the tooling (converter, SafeTensorsWriter, the CLI) writes and looks for them: AtomicFile
// writes so that readers see either the old file or the complete new one, never a half-written one
// (a temporary file in the same folder, fsync, rename over); file_exists tells a regular file.
#pragma once

#include "../status.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace albertner {

/// True when `path` names a regular file (following symbolic links).
inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// A temporary file next to `path` that becomes `path` on commit() and is removed otherwise.
/// Move-only.
class AtomicFile {
public:
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile(AtomicFile&& o) noexcept : path_(std::move(o.path_)), temp_(std::move(o.temp_)), fd_(o.fd_) { o.fd_ = -1; }
  AtomicFile& operator=(AtomicFile&& o) noexcept {
    if (this != &o) {
      discard();
      path_ = std::move(o.path_);
      temp_ = std::move(o.temp_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~AtomicFile() { discard(); }

  static Result<AtomicFile> create(const std::string& path) {
    // The rename must stay within one file system, hence the same folder; O_EXCL and a
    // per-process counter keep concurrent writers (threads or processes) apart.
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string temp =
          path + ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(counter.fetch_add(1));
      int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        AtomicFile f;
        f.path_ = path;
        f.temp_ = std::move(temp);
        f.fd_ = fd;
        return f;
      }
      if (errno != EEXIST) return Error(errc::io, temp + ": cannot create: " + std::strerror(errno));
    }
    return Error(errc::io, path + ": cannot find a free temporary file name next to it");
  }

  Status write(const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const std::size_t chunk = size < (std::size_t{1} << 30) ? size : (std::size_t{1} << 30);
      const ssize_t n = ::write(fd_, p, chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error(errc::io, temp_ + ": cannot write: " + std::strerror(errno));
      }
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return ok_status();
  }

  /// Flushes the data to disk and renames the temporary file to the final path.
  Status commit() {
    if (::fsync(fd_) != 0) return Error(errc::io, temp_ + ": cannot fsync: " + std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      const int e = errno;
      ::unlink(temp_.c_str());
      return Error(errc::io, temp_ + ": cannot close: " + std::strerror(e));
    }
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      ::unlink(temp_.c_str());
      return Error(errc::io, path_ + ": cannot rename " + temp_ + " to it: " + std::strerror(e));
    }
    return sync_folder();
  }

private:
  AtomicFile() = default;

  // Makes the rename itself durable. File systems that cannot fsync a folder say EINVAL.
  Status sync_folder() const {
    const std::size_t slash = path_.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error(errc::io, folder + ": cannot open to fsync: " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int e = errno;
    ::close(fd);
    if (rc != 0 && e != EINVAL) return Error(errc::io, folder + ": cannot fsync: " + std::strerror(e));
    return ok_status();
  }

  void discard() noexcept {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(temp_.c_str());
    fd_ = -1;
  }

  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

} // namespace albertner
