// The input of `albertner logits`: {"input_ids": [[...]], "attention_mask": [[...]],
// "token_type_ids": [[...]]} read into rows of ids. Apart from cli.hpp (no CLI11) so that
// tests/fuzz/fuzz_cli_json.cpp fuzzes this very code.
#pragma once

#include <albertner/encoder/encoder.hpp>
#include <albertner/io/json.hpp>
#include <albertner/status.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace albertner_cli {

/// The [B][T] matrices of one `logits` input; mask and types empty when absent.
struct LogitsInput {
  std::vector<std::int64_t> ids, mask, types;
  std::int64_t batch = 0, seq_len = 0;

  /// The encoder's view of it; valid while this object is.
  albertner::EncoderInput encoder_input() const {
    albertner::EncoderInput in;
    in.batch = batch;
    in.seq_len = seq_len;
    in.input_ids = ids.data();
    in.attention_mask = mask.empty() ? nullptr : mask.data();
    in.token_type_ids = types.empty() ? nullptr : types.data();
    return in;
  }
};

/// A [B][T] array of integers under `key`, all rows the same length; a [T] array is one row.
inline albertner::Status read_matrix(const albertner::Json& root, const char* key, std::vector<std::int64_t>& out,
                                     std::int64_t& rows, std::int64_t& cols) {
  using albertner::errc;
  using albertner::Error;
  const albertner::Json* m = root.find(key);
  if (!m || !m->is_array() || m->size() == 0)
    return Error(errc::invalid_input, std::string("'") + key + "' must be a non-empty array of rows");
  // One sequence ([...] of integers) is a batch of one.
  const bool single = !m->items().front().is_array();
  rows = single ? 1 : static_cast<std::int64_t>(m->size());
  cols = -1;
  for (std::size_t b = 0; b < static_cast<std::size_t>(rows); ++b) {
    const albertner::Json& row = single ? *m : m->items()[b];
    if (!row.is_array())
      return Error(errc::invalid_input, std::string("'") + key + "' row " + std::to_string(b) + " is not an array");
    if (cols >= 0 && static_cast<std::int64_t>(row.size()) != cols)
      return Error(errc::invalid_input, std::string("'") + key + "' row " + std::to_string(b) + " has " +
                                            std::to_string(row.size()) + " entries, row 0 has " + std::to_string(cols));
    cols = static_cast<std::int64_t>(row.size());
    for (std::size_t t = 0; t < row.items().size(); ++t) {
      if (!row.items()[t].is_integer())
        return Error(errc::invalid_input, std::string("'") + key + "' [" + std::to_string(b) + "][" +
                                              std::to_string(t) + "] is not an integer");
      out.push_back(row.items()[t].as_int());
    }
  }
  return albertner::ok_status();
}

/// `root` read as a logits input: input_ids required, the other two optional and of its shape.
/// Ranges (ids, mask values, lengths) are the encoder's to check.
inline albertner::Result<LogitsInput> read_logits_input(const albertner::Json& root) {
  using albertner::errc;
  using albertner::Error;
  if (!root.is_object()) return Error(errc::invalid_input, "input must be a JSON object with \"input_ids\"");
  LogitsInput in;
  ALBERTNER_CHECK(read_matrix(root, "input_ids", in.ids, in.batch, in.seq_len));
  for (const char* key : {"attention_mask", "token_type_ids"}) {
    if (!root.find(key)) continue;
    std::vector<std::int64_t>& dst = std::string(key) == "attention_mask" ? in.mask : in.types;
    std::int64_t b = 0, t = 0;
    ALBERTNER_CHECK(read_matrix(root, key, dst, b, t));
    if (b != in.batch || t != in.seq_len)
      return Error(errc::invalid_input, std::string("'") + key + "' is [" + std::to_string(b) + "][" +
                                            std::to_string(t) + "] but input_ids is [" + std::to_string(in.batch) +
                                            "][" + std::to_string(in.seq_len) + "]");
  }
  return in;
}

} // namespace albertner_cli
