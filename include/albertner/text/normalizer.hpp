// The normalizers and pre-tokenizers of albert's fast tokenizer, on a string that remembers where
// each of its characters came from. Every step reproduces the alignment bookkeeping of Hugging Face
// tokenizers' NormalizedString (transform_range, replace, filter, prepend, split), because the
// offsets the library reports are read off those alignments, quirks included.
#pragma once

#include "../io/utf8.hpp"
#include "charsmap.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

/// A span [start, end) of code points in the original text.
struct SourceSpan {
  std::size_t start, end;
};

/// Normalized characters, each with the span of original text it stands for. tokenizers keeps
/// one alignment per byte, but every byte of a character gets the same one, so one per
/// character is equivalent.
struct NormalizedString {
  std::u32string chars;
  std::vector<SourceSpan> align;

  /// text[begin, end) unchanged, aligned to itself.
  static NormalizedString original(const std::u32string& text, std::size_t begin, std::size_t end) {
    NormalizedString s;
    s.chars = text.substr(begin, end - begin);
    s.align.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) s.align.push_back({i, i + 1});
    return s;
  }
  NormalizedString slice(std::size_t begin, std::size_t end) const {
    NormalizedString s;
    s.chars = chars.substr(begin, end - begin);
    s.align.assign(align.begin() + static_cast<std::ptrdiff_t>(begin),
                   align.begin() + static_cast<std::ptrdiff_t>(end));
    return s;
  }
  void push(char32_t c, SourceSpan a) {
    chars += c;
    align.push_back(a);
  }
  std::size_t size() const noexcept { return chars.size(); }
  bool empty() const noexcept { return chars.empty(); }
};

/// A new character and how it relates to the old ones (tokenizers' `(char, isize)`): 0 replaces
/// the next old character, +1 is inserted (aligned to the old character before it), -k replaces
/// the next old character and deletes the k after it.
using Change = std::pair<char32_t, std::ptrdiff_t>;

/// tokenizers' `NormalizedString::transform_range` over chars [begin, end) after dropping the
/// first `initial_offset` of them. The result can be surprising when `dest` does not consume the
/// old characters one for one (see `precompiled`); that is reproduced as is.
inline void transform_range(NormalizedString& s, std::size_t begin, std::size_t end, const std::vector<Change>& dest,
                            std::size_t initial_offset) {
  NormalizedString out;
  out.chars.reserve(dest.size());
  out.align.reserve(dest.size());
  std::size_t pos = begin + std::min(initial_offset, end - begin);
  for (const Change& d : dest) {
    SourceSpan a{0, 0};
    if (d.second > 0) {
      if (pos >= 1) a = s.align[pos - 1];
    } else {
      // tokenizers would index past the end (and panic) if `dest` consumed more than it has.
      a = pos < s.align.size() ? s.align[pos] : s.align.back();
      if (pos < end) ++pos;
      if (d.second < 0) pos = std::min(end, pos + static_cast<std::size_t>(-d.second));
    }
    out.push(d.first, a);
  }
  s.chars.replace(begin, end - begin, out.chars);
  s.align.erase(s.align.begin() + static_cast<std::ptrdiff_t>(begin),
                s.align.begin() + static_cast<std::ptrdiff_t>(end));
  s.align.insert(s.align.begin() + static_cast<std::ptrdiff_t>(begin), out.align.begin(), out.align.end());
}

inline void transform(NormalizedString& s, const std::vector<Change>& dest, std::size_t initial_offset) {
  transform_range(s, 0, s.size(), dest, initial_offset);
}

/// tokenizers' `NormalizedString::replace`: every non-overlapping match, scanned left to right,
/// becomes `content`, each of whose characters is aligned to the match's last character.
/// `match_length(chars, i)` is the length of the match starting at i, or 0.
template <class MatchLength>
void replace_all(NormalizedString& s, MatchLength match_length, const std::u32string& content) {
  NormalizedString out;
  out.chars.reserve(s.size());
  out.align.reserve(s.size());
  bool matched = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = match_length(s.chars, i);
    if (len == 0) {
      out.push(s.chars[i], s.align[i]);
      ++i;
      continue;
    }
    matched = true;
    for (char32_t c : content) out.push(c, s.align[i + len - 1]);
    i += len;
  }
  if (matched) s = std::move(out);
}

/// Replace(String(pattern), content).
inline void replace_literal(NormalizedString& s, const std::u32string& pattern, const std::u32string& content) {
  replace_all(
      s,
      [&](const std::u32string& chars, std::size_t i) {
        return chars.compare(i, pattern.size(), pattern) == 0 ? pattern.size() : 0;
      },
      content);
}

/// Replace(Regex(" {2,}"), " ") of re-converted tokenizer.json files.
inline void collapse_spaces(NormalizedString& s) {
  replace_all(
      s,
      [](const std::u32string& chars, std::size_t i) {
        std::size_t j = i;
        while (j < chars.size() && chars[j] == U' ') ++j;
        return j - i >= 2 ? j - i : 0;
      },
      U" ");
}

/// NFKD with tokenizers' alignment (unicode-normalization-alignments): the first character of a
/// decomposition replaces its source, the others are inserted after it; canonical reordering of
/// combining marks moves those tags along with the characters.
inline void nfkd(NormalizedString& s) {
  struct Entry {
    char32_t c;
    int ccc;
    std::ptrdiff_t change;
  };
  std::vector<Entry> buf;
  buf.reserve(s.size());
  std::size_t ready = 0;
  const auto sort_pending = [&] {
    std::stable_sort(buf.begin() + static_cast<std::ptrdiff_t>(ready), buf.end(),
                     [](const Entry& a, const Entry& b) { return a.ccc < b.ccc; });
    ready = buf.size();
  };
  bool changed = false;
  for (char32_t c : s.chars) {
    utf8proc_int32_t parts[32];
    int boundclass = 0;
    utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), parts, 32,
                                static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT), &boundclass);
    if (n < 1 || n > 32) { // cannot happen for valid scalar values; keep the character as is
      parts[0] = static_cast<utf8proc_int32_t>(c);
      n = 1;
    }
    if (n != 1 || static_cast<char32_t>(parts[0]) != c) changed = true;
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      const int ccc = utf8proc_get_property(parts[k])->combining_class;
      if (ccc == 0) sort_pending();
      else changed = true; // may be reordered
      buf.push_back({static_cast<char32_t>(parts[k]), ccc, k > 0 ? 1 : 0});
    }
  }
  sort_pending();
  if (!changed) return;
  std::vector<Change> dest;
  dest.reserve(buf.size());
  for (const Entry& e : buf) dest.emplace_back(e.c, e.change);
  transform(s, dest, 0);
}

/// tokenizers' `NormalizedString::filter`: a removed character is charged to the kept character
/// before it (whose alignment does not grow); removed leading characters are dropped up front.
template <class Keep>
void filter(NormalizedString& s, Keep keep) {
  std::vector<Change> dest;
  dest.reserve(s.size());
  std::ptrdiff_t removed = 0;
  std::size_t removed_start = 0;
  bool have_last = false, any_removed = false;
  char32_t last = 0;
  for (char32_t c : s.chars) {
    if (keep(c)) {
      if (have_last) dest.emplace_back(last, -removed);
      else removed_start = static_cast<std::size_t>(removed);
      have_last = true;
      last = c;
      removed = 0;
    } else {
      ++removed;
      any_removed = true;
    }
  }
  if (!any_removed) return;
  if (have_last) dest.emplace_back(last, -removed);
  transform(s, dest, removed_start);
}

/// StripAccents: removes General_Category Mark (Mn, Mc, Me), tokenizers' `is_combining_mark`.
inline void strip_accents(NormalizedString& s) {
  filter(s, [](char32_t c) {
    const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat != UTF8PROC_CATEGORY_MN && cat != UTF8PROC_CATEGORY_MC && cat != UTF8PROC_CATEGORY_ME;
  });
}

/// Lowercase: Rust's `char::to_lowercase`, character by character (no final-sigma context).
/// utf8proc gives the simple mapping; the one unconditional multi-character lowercase in
/// SpecialCasing.txt is U+0130 → "i\u0307", added by hand.
inline void lowercase(NormalizedString& s) {
  std::vector<Change> dest;
  dest.reserve(s.size());
  bool changed = false;
  for (char32_t c : s.chars) {
    if (c == 0x130) {
      dest.emplace_back(U'i', 0);
      dest.emplace_back(char32_t{0x307}, 1);
      changed = true;
      continue;
    }
    const auto lower = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    changed = changed || lower != c;
    dest.emplace_back(lower, 0);
  }
  if (changed) transform(s, dest, 0);
}

/// tokenizers' `Precompiled` normalizer: per extended grapheme cluster, the whole cluster is
/// looked up when shorter than 6 bytes, otherwise (or without a hit) each character is. The
/// bookkeeping of a replacement is tokenizers' own: a longer replacement marks its last extra
/// characters as inserted, a shorter one charges the difference to the last entry written so far
/// (which can belong to an earlier cluster, or not exist: a deletion at the very start then
/// shifts the alignment of what follows by one character, as in tokenizers).
inline void precompiled(NormalizedString& s, const Charsmap& map) {
  if (map.empty() || s.empty()) return;
  std::vector<Change> dest;
  dest.reserve(s.size());
  bool modified = false;
  std::string key;
  std::u32string replacement;
  const auto replace = [&](std::size_t old_count) {
    modified = true;
    for (char32_t c : replacement) dest.emplace_back(c, 0);
    const auto diff = static_cast<std::ptrdiff_t>(replacement.size()) - static_cast<std::ptrdiff_t>(old_count);
    if (diff > 0) {
      for (std::size_t k = 0; k < static_cast<std::size_t>(diff); ++k) dest[dest.size() - 1 - k].second = 1;
    } else if (diff < 0 && !dest.empty()) {
      dest.back().second += diff;
    }
  };
  utf8proc_int32_t state = 0;
  for (std::size_t i = 0, j; i < s.size(); i = j) {
    for (j = i + 1; j < s.size(); ++j)
      if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(s.chars[j - 1]),
                                           static_cast<utf8proc_int32_t>(s.chars[j]), &state))
        break;
    key.clear();
    for (std::size_t k = i; k < j; ++k) utf8_append(key, s.chars[k]);
    if (key.size() < 6 && map.transform(key.data(), key.size(), replacement)) {
      replace(j - i);
      continue;
    }
    for (std::size_t k = i; k < j; ++k) {
      key.clear();
      utf8_append(key, s.chars[k]);
      if (map.transform(key.data(), key.size(), replacement)) replace(1);
      else dest.emplace_back(s.chars[k], 0);
    }
  }
  if (modified) transform(s, dest, 0);
}

/// Rust's `char::is_whitespace` (Unicode White_Space), which WhitespaceSplit and the added
/// tokens' lstrip use. utf8proc has no White_Space property, and the list is short and stable.
inline bool is_whitespace(char32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// WhitespaceSplit: the non-empty runs between whitespace characters.
inline void whitespace_split(const NormalizedString& s, std::vector<NormalizedString>& out) {
  for (std::size_t i = 0; i < s.size();) {
    if (is_whitespace(s.chars[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && !is_whitespace(s.chars[j])) ++j;
    out.push_back(s.slice(i, j));
    i = j;
  }
}

inline constexpr char32_t kMetaspaceChar = 0x2581;

/// Metaspace("▁", add_prefix_space=true): spaces become ▁ (aligned to the space), a ▁ aligned to
/// the first character is prepended unless the text starts with one, and the text is split
/// before each ▁ (MergedWithNext: a run of ▁ stays together with what follows it).
inline void metaspace(NormalizedString s, std::vector<NormalizedString>& out) {
  if (s.empty()) return;
  for (char32_t& c : s.chars)
    if (c == U' ') c = kMetaspaceChar;
  if (s.chars[0] != kMetaspaceChar) {
    s.chars.insert(s.chars.begin(), kMetaspaceChar);
    s.align.insert(s.align.begin(), s.align[0]);
  }
  std::size_t begin = 0;
  bool previous_match = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool match = s.chars[i] == kMetaspaceChar;
    if (match && !previous_match && i > begin) {
      out.push_back(s.slice(begin, i));
      begin = i;
    }
    previous_match = match;
  }
  out.push_back(s.slice(begin, s.size()));
}

} // namespace detail
} // namespace albertner
