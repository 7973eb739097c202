// Shared pieces of the albertner CLI: registration of subcommands, errors and exit statuses, the
// model / input / output flags every subcommand shares, line input read as it arrives, atomic file
// output, progress on a terminal, JSON output.
#pragma once

#include <albertner/tooling.hpp>

#include <CLI/CLI.hpp>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace albertner_cli {

/// Each subcommand file defines one of these; main() calls them all.
void add_convert(CLI::App& app);
void add_info(CLI::App& app);
void add_logits(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_tag(CLI::App& app);
void add_eval(CLI::App& app);
void add_bench(CLI::App& app);

/// Exit statuses (README "Command line"): 0 success; 1 an error (I/O, model, a bad input line);
/// 2 a usage error; 3 `--on-error skip` wrote an error record for at least one line.
constexpr int kExitError = 1, kExitUsage = 2, kExitSkipped = 3;

/// The exit status of a failed command: one line on stderr.
inline int fail(const albertner::Error& e) {
  std::fprintf(stderr, "albertner: error: %s\n", e.what().c_str());
  return kExitError;
}
inline int fail(const std::string& message) {
  std::fprintf(stderr, "albertner: error: %s\n", message.c_str());
  return kExitError;
}
/// A usage error found after parsing (flags that do not go together): exit status 2.
inline int usage(const std::string& message) {
  std::fprintf(stderr, "albertner: error: %s\n", message.c_str());
  return kExitUsage;
}

/// Sets the exit status of the whole program from a subcommand's callback.
int& exit_status();

// ---- the model ----

/// $ALBERTNER_MODEL, else the bundled model (the build tree's copy, then the installed one).
inline std::string default_model() {
  if (const char* env = std::getenv("ALBERTNER_MODEL"))
    if (*env) return env;
  for (const char* path : {ALBERTNER_BUILD_TREE_MODEL, ALBERTNER_INSTALLED_MODEL})
    if (albertner::file_exists(path)) return path;
  return ALBERTNER_INSTALLED_MODEL;
}

/// -m/--model on `cmd`; `model` is left empty when not given (resolve with model_or_default).
inline CLI::Option* add_model_option(CLI::App* cmd, std::string& model) {
  return cmd->add_option("-m,--model", model,
                         "Model file (default: $ALBERTNER_MODEL, else the bundled CoNLL-2003 model)");
}
inline std::string model_or_default(const std::string& model) { return model.empty() ? default_model() : model; }

inline bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// True when the file's first bytes are text (printable ASCII, UTF-8 lead/continuation bytes,
/// whitespace): no safetensors file starts so, as its first 8 bytes are a little-endian length.
inline bool looks_like_text(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char buf[64];
  const std::size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  if (n < 8) return n > 0;
  for (std::size_t i = 0; i < n; ++i)
    if (buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t') return false;
  return true;
}

/// Opens the model at `path`; a directory or a text file gets a hint on what goes where.
inline albertner::Result<albertner::Model> open_model(const std::string& path) {
  if (is_directory(path))
    return albertner::Error(albertner::errc::io,
                            path +
                                ": is a directory, not a model file (a Hugging Face folder converts with: "
                                "albertner convert " +
                                path + " -o MODEL.safetensors)");
  auto model = albertner::Model::open(path);
  if (!model.ok() && model.error().code() != albertner::errc::io && looks_like_text(path))
    return albertner::Error(model.error().code(), path +
                                                      ": a text file, not a model; give it as input with -i/--input " +
                                                      path + " and the model with -m/--model");
  return model;
}

/// Without -m, a first argument ending in .safetensors or naming an existing file or folder is the
/// model (a text file or a folder is then an error with a hint, not text).
inline bool names_model(const std::string& s) {
  const std::string suffix = ".safetensors";
  const bool named = s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  struct stat st;
  return named || (!s.empty() && s.find('\n') == std::string::npos && ::stat(s.c_str(), &st) == 0);
}

/// Takes the model out of `args` by names_model's rule when -m was not given.
inline std::string take_model(const std::string& flag, std::vector<std::string>& args) {
  if (!flag.empty()) return flag;
  if (!args.empty() && names_model(args.front())) {
    std::string model = args.front();
    args.erase(args.begin());
    return model;
  }
  return default_model();
}

// ---- numbers ----

/// A range check for integer flags, named in CLI11's message ("--threads: Value -1 not in range").
inline CLI::Range in_range(std::int64_t lo, std::int64_t hi) { return CLI::Range(lo, hi); }

/// The Tagger's --window, --overlap, --batch and --threads, which tag and eval share: `unit` is what a
/// window cuts ("text", "sentence"), `peer` the other subcommand with the same default overlap.
template <class W, class O, class B, class T>
void add_tagger_options(CLI::App* cmd, W& window, O& overlap, B& batch, T& threads, const std::string& unit,
                        const std::string& peer) {
  cmd->add_option("--window", window, "Positions per window incl. [CLS]/[SEP] (default: the model's limit)")
      ->check(in_range(3, 1 << 20));
  cmd->add_option(
         "--overlap", overlap,
         "Tokens shared by consecutive windows of a long " + unit + " (default: window / 4, the same as " + peer + ")")
      ->check(in_range(0, 1 << 20));
  cmd->add_option("--batch", batch, "Sequences per encoder call")->check(in_range(1, 4096))->capture_default_str();
  cmd->add_option("--threads", threads, "Threads in all")->check(in_range(1, 256))->capture_default_str();
}

// ---- input ----

/// Lines of a file or of standard input, read as they arrive: next() returns what is already
/// there and, when asked not to block, says so instead of waiting for more. Lines are counted
/// from 1; a final "\r" is kept (it is text).
class LineReader {
public:
  enum class Got { line, would_block, end };

  /// `path` "-" is standard input.
  static albertner::Result<std::unique_ptr<LineReader>> open(const std::string& path) {
    std::unique_ptr<LineReader> r(new LineReader);
    if (path == "-") {
      r->fd_ = STDIN_FILENO;
      r->name_ = "stdin";
    } else {
      if (is_directory(path)) return albertner::Error(albertner::errc::io, path + ": is a directory");
      r->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (r->fd_ < 0) return albertner::Error(albertner::errc::io, path + ": cannot open: " + std::strerror(errno));
      r->owned_ = true;
      r->name_ = path;
    }
    struct stat st;
    if (::fstat(r->fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) return albertner::Error(albertner::errc::io, r->name_ + ": is a directory");
      if (S_ISREG(st.st_mode)) r->size_ = static_cast<std::size_t>(st.st_size);
    }
    return r;
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader() {
    if (owned_) ::close(fd_);
  }

  /// "stdin" or the path, for messages.
  const std::string& name() const { return name_; }
  /// The 1-based number of the line last returned.
  std::size_t line_number() const { return number_; }
  /// Bytes consumed so far, and the input's size (0: unknown, not a regular file).
  std::size_t bytes_read() const { return consumed_; }
  std::size_t size() const { return size_; }

  albertner::Result<Got> next(std::string& line, bool block) {
    for (;;) {
      const std::size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        consumed_ += nl + 1 - pos_;
        pos_ = nl + 1;
        ++number_;
        return Got::line;
      }
      if (eof_) {
        if (pos_ < buf_.size()) {
          line.assign(buf_, pos_, std::string::npos);
          consumed_ += buf_.size() - pos_;
          pos_ = buf_.size();
          ++number_;
          return Got::line;
        }
        return Got::end;
      }
      if (!block) {
        struct pollfd p {
          fd_, POLLIN, 0
        };
        if (::poll(&p, 1, 0) == 0) return Got::would_block;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        return albertner::Error(albertner::errc::io, name_ + ": cannot read: " + std::strerror(errno));
      }
      if (n == 0) eof_ = true;
      else buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

private:
  LineReader() = default;
  int fd_ = -1;
  bool owned_ = false, eof_ = false;
  std::string name_, buf_;
  std::size_t pos_ = 0, number_ = 0, consumed_ = 0, size_ = 0;
};

/// Reads a whole file, or standard input when `path` is "-"; a read error is an error.
inline albertner::Result<std::string> read_input(const std::string& path) {
  ALBERTNER_TRY(std::unique_ptr<LineReader> reader, LineReader::open(path));
  std::string all, line;
  for (;;) {
    ALBERTNER_TRY(LineReader::Got got, reader->next(line, true));
    if (got != LineReader::Got::line) break;
    all += line;
    all += '\n';
  }
  return all;
}

/// Parses one JSON line as an object, naming the line on error.
inline albertner::Result<albertner::Json> parse_json_line(const std::string& line, const std::string& where) {
  auto j = albertner::parse_json(line);
  if (!j.ok()) return albertner::Error(j.error().code(), where + ": " + j.error().message());
  if (!j->is_object()) return albertner::Error(albertner::errc::invalid_input, where + ": not a JSON object");
  return j;
}

// ---- output ----

/// Standard output, or a file written atomically: a temporary file beside it becomes the file
/// on commit() (and is removed otherwise). Messages name the user's path, never the temporary one.
class Output {
public:
  /// `path` empty or "-": standard output.
  static albertner::Result<std::unique_ptr<Output>> open(const std::string& path) {
    std::unique_ptr<Output> o(new Output);
    if (path.empty() || path == "-") {
      o->fd_ = STDOUT_FILENO;
      o->name_ = "standard output";
      return o;
    }
    if (is_directory(path)) return albertner::Error(albertner::errc::io, path + ": is a directory");
    o->path_ = path;
    o->name_ = path;
    o->temp_ = path + ".albertner-XXXXXX";
    o->fd_ = ::mkstemp(o->temp_.data());
    if (o->fd_ < 0) return albertner::Error(albertner::errc::io, path + ": cannot create: " + std::strerror(errno));
    ::fchmod(o->fd_, 0644);
    return o;
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() {
    if (!path_.empty() && fd_ >= 0) {
      ::close(fd_);
      ::unlink(temp_.c_str());
    }
  }
  bool is_stdout() const { return path_.empty(); }
  bool is_terminal() const { return is_stdout() && ::isatty(STDOUT_FILENO); }

  /// Writes `data` now (standard output is not buffered here: each call reaches the reader).
  albertner::Status write(const std::string& data) {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return albertner::Error(albertner::errc::io, "cannot write to " + name_ + ": " + std::strerror(errno));
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    return albertner::ok_status();
  }
  /// The file gets its final name (nothing to do for standard output).
  albertner::Status commit() {
    if (path_.empty()) return albertner::ok_status();
    const int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp_.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      ::unlink(temp_.c_str());
      return albertner::Error(albertner::errc::io, path_ + ": cannot write: " + std::strerror(e));
    }
    return albertner::ok_status();
  }

private:
  Output() = default;
  int fd_ = -1;
  std::string path_, temp_, name_;
};

/// -o/--output on `cmd`.
inline CLI::Option* add_output_option(CLI::App* cmd, std::string& path) {
  return cmd->add_option("-o,--output", path, "Write here instead of standard output (atomically: all or nothing)");
}

/// Writes `text` to `path` (standard output when empty) atomically.
inline int write_all(const std::string& path, const std::string& text) {
  auto out = Output::open(path);
  if (!out.ok()) return fail(out.error());
  albertner::Status st = (*out)->write(text);
  if (st.ok()) st = (*out)->commit();
  if (!st.ok()) return fail(st.error());
  return 0;
}

/// A library error about a file written through its temporary name (`PATH.tmp.PID.N`) with the
/// user's path instead.
inline albertner::Error name_user_path(const albertner::Error& e, const std::string& path) {
  std::string message = e.message();
  const std::string prefix = path + ".tmp.";
  for (std::size_t at = message.find(prefix); at != std::string::npos; at = message.find(prefix, at + path.size())) {
    std::size_t end = at + prefix.size();
    while (end < message.size() && (std::isdigit(static_cast<unsigned char>(message[end])) || message[end] == '.'))
      ++end;
    if (end > at + prefix.size() && message[end - 1] == '.') --end; // a sentence's full stop stays
    message.replace(at, end - at, path);
  }
  return albertner::Error(e.code(), message);
}

// ---- progress ----

/// "--progress" / "--quiet" and the rule: progress on stderr when it is a terminal.
struct ProgressFlags {
  bool progress = false, quiet = false;
  void add(CLI::App* cmd) {
    cmd->add_flag("--progress", progress, "Show progress on stderr even when it is not a terminal");
    cmd->add_flag("-q,--quiet", quiet, "No progress on stderr");
  }
  bool enabled() const { return !quiet && (progress || ::isatty(STDERR_FILENO)); }
};

/// One line on stderr, rewritten in place at most every half second: count, rate and, when the
/// input's size is known, the ETA.
class ProgressLine {
public:
  ProgressLine(bool enabled, std::string what, std::string unit)
      : enabled_(enabled), what_(std::move(what)), unit_(std::move(unit)), start_(clock::now()), last_(start_) {}
  /// `done` units; `fraction` of the input consumed (negative: unknown).
  void update(std::size_t done, double fraction, bool force = false) {
    if (!enabled_) return;
    const auto now = clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    std::fprintf(stderr, "\ralbertner %s: %zu %s, %.0f %s/s, %.1f s", what_.c_str(), done, unit_.c_str(), rate,
                 unit_.c_str(), seconds);
    if (fraction > 0 && fraction < 1)
      std::fprintf(stderr, ", %.0f%%, ETA %.0f s ", 100 * fraction, seconds * (1 - fraction) / fraction);
    std::fflush(stderr);
  }
  void finish(std::size_t done) {
    if (!enabled_) return;
    update(done, 1, true);
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }

private:
  using clock = std::chrono::steady_clock;
  bool enabled_;
  std::string what_, unit_;
  clock::time_point start_, last_;
};

// ---- JSON ----

/// JSON numbers for floats: 9 significant digits always round-trip a float.
inline void append_float(std::string& out, float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  out += buf;
}

} // namespace albertner_cli
