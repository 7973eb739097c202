// A small JSON reader and writer without exceptions. The library needs one for safetensors
// headers, config.json and tokenizer options; it is public so that the tools and tests reuse it
// and one parser is fuzzed and trusted everywhere.
#pragma once

#include "../status.hpp"
#include "utf8.hpp"
#include "utf8_index.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace albertner {

/// A parsed JSON value. Objects keep their members in document order (duplicates are kept
/// too, so that callers that must reject them can see them).
class Json {
public:
  enum class kind { null, boolean, number, string, array, object };
  using Member = std::pair<std::string, Json>;

  Json() = default;
  static Json make_bool(bool b) {
    Json j;
    j.kind_ = kind::boolean;
    j.bool_ = b;
    return j;
  }
  static Json make_number(double d, bool integral, std::int64_t i) {
    Json j;
    j.kind_ = kind::number;
    j.number_ = d;
    j.integral_ = integral;
    j.int_ = i;
    return j;
  }
  static Json make_string(std::string s) {
    Json j;
    j.kind_ = kind::string;
    j.string_ = std::move(s);
    return j;
  }
  static Json make_array() {
    Json j;
    j.kind_ = kind::array;
    return j;
  }
  static Json make_object() {
    Json j;
    j.kind_ = kind::object;
    return j;
  }

  kind type() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == kind::null; }
  bool is_bool() const noexcept { return kind_ == kind::boolean; }
  bool is_number() const noexcept { return kind_ == kind::number; }
  /// A number written without fraction or exponent that fits in int64.
  bool is_integer() const noexcept { return kind_ == kind::number && integral_; }
  bool is_string() const noexcept { return kind_ == kind::string; }
  bool is_array() const noexcept { return kind_ == kind::array; }
  bool is_object() const noexcept { return kind_ == kind::object; }

  bool as_bool() const noexcept { return bool_; }
  double as_double() const noexcept { return number_; }
  std::int64_t as_int() const noexcept { return int_; }
  const std::string& as_string() const noexcept { return string_; }
  const std::vector<Json>& items() const noexcept { return items_; }
  std::vector<Json>& items() noexcept { return items_; }
  const std::vector<Member>& members() const noexcept { return members_; }
  std::vector<Member>& members() noexcept { return members_; }
  std::size_t size() const noexcept { return kind_ == kind::array ? items_.size() : members_.size(); }

  /// First member called `key`, or nullptr (also when this is not an object).
  const Json* find(const std::string& key) const noexcept {
    for (const Member& m : members_)
      if (m.first == key) return &m.second;
    return nullptr;
  }

  void push_back(Json v) { items_.push_back(std::move(v)); }
  void set(std::string key, Json v) {
    for (Member& m : members_)
      if (m.first == key) {
        m.second = std::move(v);
        return;
      }
    members_.emplace_back(std::move(key), std::move(v));
  }
  /// Appends a member whose key the caller knows is new: no search, so building an object of n
  /// members costs O(n), not set()'s O(n^2) (65,536 labels took minutes).
  void add(std::string key, Json v) { members_.emplace_back(std::move(key), std::move(v)); }

  /// Compact JSON text. Doubles use the shortest form that reads back exactly.
  std::string dump() const {
    std::string out;
    dump_to(out);
    return out;
  }
  void dump_to(std::string& out) const;

private:
  kind kind_ = kind::null;
  bool bool_ = false;
  bool integral_ = false;
  double number_ = 0;
  std::int64_t int_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<Member> members_;
};

/// Appends `s` as a JSON string literal (quotes included); invalid UTF-8 is written as-is,
/// control characters and U+2028/U+2029 as \u escapes.
inline void json_escape_to(std::string& out, const std::string& s) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
        out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
        i += 2;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  out += '"';
}

/// Appends a double in the shortest decimal form that parses back to the same value
/// (non-finite values, which JSON cannot hold, are written as null).
inline void json_number_to(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  for (int precision = 9; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  out += buf;
}

inline void Json::dump_to(std::string& out) const {
  switch (kind_) {
  case kind::null: out += "null"; break;
  case kind::boolean: out += bool_ ? "true" : "false"; break;
  case kind::number:
    if (integral_) out += std::to_string(int_);
    else json_number_to(out, number_);
    break;
  case kind::string: json_escape_to(out, string_); break;
  case kind::array:
    out += '[';
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (i) out += ',';
      items_[i].dump_to(out);
    }
    out += ']';
    break;
  case kind::object:
    out += '{';
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (i) out += ',';
      json_escape_to(out, members_[i].first);
      out += ':';
      members_[i].second.dump_to(out);
    }
    out += '}';
    break;
  }
}

/// Limits that keep hostile input from exhausting the stack or the heap. Each value costs about
/// 100 bytes of DOM for as little as 2 bytes of text ("[],[],..."), so a 100 MB safetensors header
/// could otherwise take gigabytes before being rejected; 4M values is far above any real
/// config.json, tokenizer.json (~100k values) or safetensors header (~8 values per tensor).
struct JsonLimits {
  int max_depth = 128;
  std::size_t max_values = std::size_t(1) << 22;
};

namespace detail {

class JsonParser {
public:
  JsonParser(const char* data, std::size_t size, JsonLimits limits)
      : p_(data), begin_(data), end_(data + size), limits_(limits) {}

  Result<Json> parse_document() {
    Json value;
    skip_ws();
    if (!parse_value(value, 0)) return fail();
    skip_ws();
    if (p_ != end_) {
      error_ = "unexpected character after the JSON value";
      return fail();
    }
    return value;
  }

private:
  Error fail() const {
    return Error(errc::format, "invalid JSON at byte " + std::to_string(p_ - begin_) + ": " + error_);
  }
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(const char* word) {
    const char* q = p_;
    for (; *word; ++word, ++q)
      if (q >= end_ || *q != *word) {
        error_ = "invalid literal";
        return false;
      }
    p_ = q;
    return true;
  }
  bool parse_value(Json& out, int depth) {
    if (depth > limits_.max_depth) {
      error_ = "nesting deeper than " + std::to_string(limits_.max_depth);
      return false;
    }
    if (++values_ > limits_.max_values) {
      error_ = "more than " + std::to_string(limits_.max_values) + " values";
      return false;
    }
    if (p_ >= end_) {
      error_ = "unexpected end of input";
      return false;
    }
    switch (*p_) {
    case 'n': out = Json(); return literal("null");
    case 't': out = Json::make_bool(true); return literal("true");
    case 'f': out = Json::make_bool(false); return literal("false");
    case '"': {
      std::string s;
      if (!parse_string(s)) return false;
      out = Json::make_string(std::move(s));
      return true;
    }
    case '[': {
      ++p_;
      out = Json::make_array();
      skip_ws();
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return true;
      }
      for (;;) {
        Json item;
        skip_ws();
        if (!parse_value(item, depth + 1)) return false;
        out.items().push_back(std::move(item));
        skip_ws();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          return true;
        }
        error_ = "expected ',' or ']' in array";
        return false;
      }
    }
    case '{': {
      ++p_;
      out = Json::make_object();
      skip_ws();
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return true;
      }
      for (;;) {
        skip_ws();
        std::string key;
        if (p_ >= end_ || *p_ != '"') {
          error_ = "expected a string key in object";
          return false;
        }
        if (!parse_string(key)) return false;
        skip_ws();
        if (p_ >= end_ || *p_ != ':') {
          error_ = "expected ':' after object key";
          return false;
        }
        ++p_;
        skip_ws();
        Json value;
        if (!parse_value(value, depth + 1)) return false;
        out.members().emplace_back(std::move(key), std::move(value));
        skip_ws();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          return true;
        }
        error_ = "expected ',' or '}' in object";
        return false;
      }
    }
    default: return parse_number(out);
    }
  }
  bool parse_number(Json& out) {
    const char* start = p_;
    bool integral = true;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) {
      error_ = "unexpected character";
      return false;
    }
    if (*p_ == '0') ++p_;
    else
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) {
        error_ = "digit expected after '.'";
        return false;
      }
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) {
        error_ = "digit expected in exponent";
        return false;
      }
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    std::string text(start, p_);
    double d = std::strtod(text.c_str(), nullptr);
    std::int64_t i = 0;
    if (integral) {
      errno = 0;
      long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) integral = false;
      else i = static_cast<std::int64_t>(v);
    }
    out = Json::make_number(d, integral, i);
    return true;
  }
  bool hex4(std::uint32_t& v) {
    if (end_ - p_ < 4) {
      error_ = "truncated \\u escape";
      return false;
    }
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else {
        error_ = "invalid hex digit in \\u escape";
        return false;
      }
    }
    return true;
  }
  // Strings must be valid UTF-8; escapes decode to UTF-8 (a lone surrogate becomes U+FFFD).
  bool parse_string(std::string& s) {
    ++p_; // opening quote
    for (;;) {
      if (p_ >= end_) {
        error_ = "unterminated string";
        return false;
      }
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) {
        error_ = "control character in string";
        return false;
      }
      if (c == '\\') {
        ++p_;
        if (p_ >= end_) {
          error_ = "unterminated escape";
          return false;
        }
        char e = *p_++;
        switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          std::uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            std::uint32_t lo;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else {
              p_ = save;
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          utf8_append(s, static_cast<char32_t>(cp));
          break;
        }
        default: error_ = "invalid escape"; return false;
        }
        continue;
      }
      const std::size_t len = utf8_sequence_length(p_, static_cast<std::size_t>(end_ - p_), 0);
      if (len == 0) {
        error_ = "invalid UTF-8 in string";
        return false;
      }
      s.append(p_, len);
      p_ += len;
    }
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  JsonLimits limits_;
  std::size_t values_ = 0;
  std::string error_;
};

} // namespace detail

/// Parses one JSON document (surrounding whitespace allowed, nothing else).
inline Result<Json> parse_json(const char* data, std::size_t size, JsonLimits limits = {}) {
  return detail::JsonParser(data, size, limits).parse_document();
}
inline Result<Json> parse_json(const std::string& text, JsonLimits limits = {}) {
  return parse_json(text.data(), text.size(), limits);
}

} // namespace albertner
