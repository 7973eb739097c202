// A read-only ZIP reader over bytes in memory, enough for torch.save archives: STORED entries
// found through the central directory (ZIP64 included). Every offset and size is checked
// against the buffer before it is used, so hostile archives yield errors, never reads out of it.
#pragma once

#include "../status.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

/// Bytes inside a buffer that someone else owns.
struct ByteSpan {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

/// One central-directory record.
struct ZipEntry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0; ///< 0 = STORED
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

namespace zip_detail {

inline std::uint16_t le16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
inline std::uint32_t le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t le64(const std::uint8_t* p) noexcept {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}
/// True when [offset, offset + length) lies inside a buffer of `size` bytes (no overflow).
inline bool fits(std::uint64_t offset, std::uint64_t length, std::size_t size) noexcept {
  return offset <= size && length <= size - offset;
}

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kZip64EocdSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalSize = 30;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kZip64EocdSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;

} // namespace zip_detail

/// The central directory of a ZIP archive held in memory; does not own the bytes.
class ZipReader {
public:
  /// Parses the end-of-central-directory record and the central directory. `display_name`
  /// prefixes every error message.
  static Result<ZipReader> open(const std::uint8_t* data, std::size_t size, const std::string& display_name) {
    using namespace zip_detail;
    ZipReader z;
    z.data_ = data;
    z.size_ = size;
    z.name_ = display_name;
    if (size < kEocdSize)
      return z.fail(errc::format, "too small for a zip archive (" + std::to_string(size) + " bytes)");

    // The EOCD ends the file, followed only by its comment (at most 65535 bytes).
    std::size_t eocd = size;
    std::size_t lowest = size - kEocdSize > 0xFFFF ? size - kEocdSize - 0xFFFF : 0;
    for (std::size_t pos = size - kEocdSize + 1; pos-- > lowest;) {
      if (le32(data + pos) == kEocdSig && pos + kEocdSize + le16(data + pos + 20) <= size) {
        eocd = pos;
        break;
      }
    }
    if (eocd == size) return z.fail(errc::format, "no end-of-central-directory record (truncated or not a zip)");
    const std::uint8_t* e = data + eocd;
    std::uint64_t disk = le16(e + 4), cd_disk = le16(e + 6);
    std::uint64_t disk_entries = le16(e + 8), entries = le16(e + 10);
    std::uint64_t cd_size = le32(e + 12), cd_offset = le32(e + 16);

    // A ZIP64 locator right before the EOCD points at 64-bit copies of those fields.
    if (eocd >= kZip64LocatorSize && le32(data + eocd - kZip64LocatorSize) == kZip64LocatorSig) {
      const std::uint8_t* loc = data + eocd - kZip64LocatorSize;
      std::uint64_t rec = le64(loc + 8);
      if (le32(loc + 4) != 0 || le32(loc + 16) > 1)
        return z.fail(errc::unsupported, "multi-disk zip archives are not supported");
      if (!fits(rec, kZip64EocdSize, eocd - kZip64LocatorSize) || le32(data + rec) != kZip64EocdSig)
        return z.fail(errc::format, "ZIP64 end-of-central-directory record at offset " + std::to_string(rec) +
                                        " is missing or outside the file");
      const std::uint8_t* r = data + rec;
      disk = le32(r + 16);
      cd_disk = le32(r + 20);
      disk_entries = le64(r + 24);
      entries = le64(r + 32);
      cd_size = le64(r + 40);
      cd_offset = le64(r + 48);
    }
    if (disk != 0 || cd_disk != 0 || disk_entries != entries)
      return z.fail(errc::unsupported, "multi-disk zip archives are not supported");
    if (!fits(cd_offset, cd_size, eocd))
      return z.fail(errc::format, "central directory [" + std::to_string(cd_offset) + ", +" + std::to_string(cd_size) +
                                      ") lies outside the file");
    if (entries > cd_size / kCentralSize)
      return z.fail(errc::format, std::to_string(entries) + " entries cannot fit in a central directory of " +
                                      std::to_string(cd_size) + " bytes");

    z.entries_.reserve(static_cast<std::size_t>(entries));
    std::size_t pos = static_cast<std::size_t>(cd_offset);
    const std::size_t end = static_cast<std::size_t>(cd_offset + cd_size);
    for (std::uint64_t i = 0; i < entries; ++i) {
      std::string where = "central directory entry " + std::to_string(i) + " at offset " + std::to_string(pos);
      if (!fits(pos, kCentralSize, end) || le32(data + pos) != kCentralSig)
        return z.fail(errc::format, where + ": bad signature or truncated");
      const std::uint8_t* c = data + pos;
      std::size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
      if (!fits(pos + kCentralSize, name_len + extra_len + comment_len, end))
        return z.fail(errc::format, where + ": name, extra or comment runs past the central directory");
      ZipEntry entry;
      entry.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
      entry.flags = le16(c + 8);
      entry.method = le16(c + 10);
      entry.compressed_size = le32(c + 20);
      entry.uncompressed_size = le32(c + 24);
      entry.local_header_offset = le32(c + 42);
      std::uint32_t start_disk = le16(c + 34);
      ALBERTNER_CHECK(z.read_zip64_extra(c + kCentralSize + name_len, extra_len, entry, start_disk));
      if (start_disk != 0) return z.fail(errc::unsupported, "entry '" + entry.name + "' is on another disk");
      if (!z.index_.emplace(entry.name, z.entries_.size()).second)
        return z.fail(errc::format, "duplicate entry '" + entry.name + "'");
      z.entries_.push_back(std::move(entry));
      pos += kCentralSize + name_len + extra_len + comment_len;
    }
    return z;
  }

  const std::vector<ZipEntry>& entries() const noexcept { return entries_; }

  /// The entry called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }

  /// The bytes of a STORED entry, located through its local header. Compressed or encrypted
  /// entries are errors naming the entry.
  Result<ByteSpan> read(const ZipEntry& entry) const {
    using namespace zip_detail;
    const std::string what = "entry '" + entry.name + "'";
    if (entry.flags & 1) return fail(errc::unsupported, what + " is encrypted");
    if (entry.method != 0)
      return fail(errc::unsupported, what + " is compressed (method " + std::to_string(entry.method) +
                                         "); only STORED entries are supported");
    if (entry.compressed_size != entry.uncompressed_size)
      return fail(errc::format, what + " is STORED but its compressed size " + std::to_string(entry.compressed_size) +
                                    " differs from its size " + std::to_string(entry.uncompressed_size));
    std::uint64_t lh = entry.local_header_offset;
    if (!fits(lh, kLocalSize, size_) || le32(data_ + lh) != kLocalSig)
      return fail(errc::format, what + ": no local header at offset " + std::to_string(lh));
    // The local name and extra lengths may differ from the central ones (writers pad the extra
    // field to align the data), so the data offset comes from the local header.
    std::uint64_t data_offset = lh + kLocalSize + le16(data_ + lh + 26) + le16(data_ + lh + 28);
    if (!fits(data_offset, entry.compressed_size, size_))
      return fail(errc::format, what + ": data [" + std::to_string(data_offset) + ", +" +
                                    std::to_string(entry.compressed_size) + ") runs past the end of the file (" +
                                    std::to_string(size_) + " bytes)");
    return ByteSpan{data_ + data_offset, static_cast<std::size_t>(entry.compressed_size)};
  }

private:
  Error fail(errc code, const std::string& message) const { return Error(code, name_ + ": zip: " + message); }

  // Fields saturated at 0xFFFF/0xFFFFFFFF in the central record are stored, in this order, in
  // the ZIP64 extra field (id 0x0001).
  Status read_zip64_extra(const std::uint8_t* extra, std::size_t len, ZipEntry& entry,
                          std::uint32_t& start_disk) const {
    using namespace zip_detail;
    bool need = entry.uncompressed_size == 0xFFFFFFFFu || entry.compressed_size == 0xFFFFFFFFu ||
                entry.local_header_offset == 0xFFFFFFFFu || start_disk == 0xFFFFu;
    if (!need) return ok_status();
    std::size_t pos = 0;
    while (pos + 4 <= len) {
      std::uint16_t id = le16(extra + pos);
      std::size_t field_len = le16(extra + pos + 2);
      if (field_len > len - pos - 4) break;
      if (id == 0x0001) {
        const std::uint8_t* f = extra + pos + 4;
        std::size_t used = 0;
        auto take64 = [&](std::uint64_t& v) {
          if (v != 0xFFFFFFFFu) return true;
          if (used + 8 > field_len) return false;
          v = le64(f + used);
          used += 8;
          return true;
        };
        bool ok = take64(entry.uncompressed_size) && take64(entry.compressed_size) && take64(entry.local_header_offset);
        if (ok && start_disk == 0xFFFFu) {
          if (used + 4 > field_len) ok = false;
          else start_disk = le32(f + used);
        }
        if (!ok) return fail(errc::format, "entry '" + entry.name + "': ZIP64 extra field is too short");
        return ok_status();
      }
      pos += 4 + field_len;
    }
    return fail(errc::format, "entry '" + entry.name + "' has 32-bit fields saturated but no ZIP64 extra field");
  }

  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::string name_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, std::size_t> index_;
};

} // namespace detail
} // namespace albertner
