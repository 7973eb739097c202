// Shared pieces of the albertner CLI: registration of subcommands, errors, input, JSON output.
#pragma once

#include <albertner/tooling.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace albertner_cli {

/// Each subcommand file defines one of these; main() calls them all.
void add_convert(CLI::App& app);
void add_info(CLI::App& app);
void add_logits(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_tag(CLI::App& app);
void add_eval(CLI::App& app);
void add_bench(CLI::App& app);

/// The exit status of a failed command: one line on stderr, nothing on stdout.
inline int fail(const albertner::Error& e) {
  std::fprintf(stderr, "albertner: error: %s\n", e.what().c_str());
  return 1;
}
inline int fail(const std::string& message) {
  std::fprintf(stderr, "albertner: error: %s\n", message.c_str());
  return 1;
}

/// Sets the exit status of the whole program from a subcommand's callback.
int& exit_status();

/// Reads a file, or standard input when `path` is "-".
inline albertner::Result<std::string> read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  auto file = albertner::detail::MappedFile::open(path);
  if (!file.ok()) return file.error();
  return std::string(reinterpret_cast<const char*>(file->data()), file->size());
}

/// Splits standard input into lines, without the newline (a final "\r" is kept: it is text).
inline std::vector<std::string> stdin_lines() {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(std::cin, line)) lines.push_back(line);
  return lines;
}

/// Parses one JSON line as an object, naming the line on error.
inline albertner::Result<albertner::detail::Json> parse_json_line(const std::string& line, std::size_t number) {
  auto j = albertner::detail::parse_json(line);
  if (!j.ok()) return j.error().with_context("stdin line " + std::to_string(number));
  if (!j->is_object()) return albertner::Error(albertner::errc::invalid_input, "stdin line " + std::to_string(number) + ": not a JSON object");
  return j;
}

/// JSON numbers for floats: 9 significant digits always round-trip a float.
inline void append_float(std::string& out, float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  out += buf;
}

} // namespace albertner_cli
